//go:build openblas

package models

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"

	_ "github.com/sleepbench/sleepbench/models/gemm/openblas" // links -lopenblas
)

// BLAS returns the matrix backend this binary was built with: with the
// openblas build tag, OpenBLAS through gonum's cgo binding (row-major
// CBLAS calls); by default package gemm's Go-assembly SGEMM.
//
// OpenBLAS runs its own threads (OPENBLAS_NUM_THREADS, default: all
// cores).
func BLAS() blas.Float32 { return netlib.Implementation{} }

// BackendName names the backend of BLAS: "go-asm" or "openblas".
const BackendName = "openblas"
