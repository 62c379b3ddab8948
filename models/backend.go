//go:build !openblas

package models

import (
	"gonum.org/v1/gonum/blas"

	"github.com/sleepbench/sleepbench/models/gemm"
)

// BLAS returns the matrix backend this binary was built with: by default
// package gemm's Go-assembly SGEMM (on GOMAXPROCS goroutines) over gonum's
// pure-Go BLAS; with the openblas build tag, OpenBLAS through cgo. Each
// call returns a backend with packing buffers of its own (gemm.New), so
// that a model's steady-state steps do not reallocate them.
func BLAS() blas.Float32 { return gemm.New(0) }

// BackendName names the backend of BLAS: "go-asm" (package gemm; see
// gemm.KernelName for the kernel this CPU runs) or "openblas".
const BackendName = "go-asm"
