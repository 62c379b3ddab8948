// Package openblas links Debian's OpenBLAS into a binary built with the
// openblas build tag, for gonum's netlib binding
// (gonum.org/v1/netlib/blas/netlib), which does not name the library it
// needs. Import it for its side effect:
//
//	import _ "github.com/sleepbench/sleepbench/models/gemm/openblas"
//
// Without the tag the package is empty and links nothing. With it, the
// build needs cgo and libopenblas-dev.
package openblas
