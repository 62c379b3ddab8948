//go:build openblas

package gemm

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"

	_ "github.com/sleepbench/sleepbench/models/gemm/openblas" // links OpenBLAS
)

func init() {
	benchImpls = append(benchImpls, struct {
		name string
		impl blas.Float32
	}{"openblas", netlib.Implementation{}})
}
