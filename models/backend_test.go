package models

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestBLASBackend checks that the backend computes a row-major product
// with each transpose, against values worked out by hand.
func TestBLASBackend(t *testing.T) {
	// A = [1 2 3; 4 5 6] (2×3), B = [1 0; 0 1; 2 -1] (3×2):
	// A·B = [7 -1; 16 -1].
	a := []float32{1, 2, 3, 4, 5, 6}
	at := []float32{1, 4, 2, 5, 3, 6}
	b := []float32{1, 0, 0, 1, 2, -1}
	bt := []float32{1, 0, 2, 0, 1, -1}
	want := []float32{7 + 0.5, -1 + 1, 16 + 1.5, -1 + 2} // + 0.5·C
	for _, tc := range []struct {
		tA, tB   blas.Transpose
		a, b     []float32
		lda, ldb int
	}{
		{blas.NoTrans, blas.NoTrans, a, b, 3, 2},
		{blas.Trans, blas.NoTrans, at, b, 2, 2},
		{blas.NoTrans, blas.Trans, a, bt, 3, 3},
		{blas.Trans, blas.Trans, at, bt, 2, 3},
	} {
		c := []float32{1, 2, 3, 4}
		BLAS().Sgemm(tc.tA, tc.tB, 2, 2, 3, 1, tc.a, tc.lda, tc.b, tc.ldb, 0.5, c, 2)
		for i := range want {
			if math.Abs(float64(c[i]-want[i])) > 1e-6 {
				t.Errorf("%s: %c%c: C = %v, want %v", BackendName, tc.tA, tc.tB, c, want)
				break
			}
		}
	}
}
