package models

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS returns the matrix backend this binary was built with.
// Placeholder: pure gonum until the fast GEMM lands (models/gemm).
func BLAS() blas.Float32 { return gonum.Implementation{} }

// BackendName names the backend of BLAS.
const BackendName = "gonum"
