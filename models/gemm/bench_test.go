package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchImpls are the implementations BenchmarkSgemm compares; a build with
// the openblas tag adds OpenBLAS.
var benchImpls = []struct {
	name string
	impl blas.Float32
}{
	{"gonum", gonum.Implementation{}},
	{"goasm", Implementation{Threads: 2}},
}

// benchShapes are the products of the Transformers sleepbench trains.
var benchShapes = []struct {
	m, n, k int
	tA, tB  blas.Transpose
}{
	{1024, 1024, 1024, blas.NoTrans, blas.NoTrans},
	{1024, 768, 768, blas.NoTrans, blas.NoTrans},
	{1024, 768, 768, blas.NoTrans, blas.Trans},
	{1024, 768, 768, blas.Trans, blas.NoTrans},
	{1024, 768, 768, blas.Trans, blas.Trans},
	{1024, 8192, 256, blas.NoTrans, blas.NoTrans},
	{1024, 8192, 256, blas.NoTrans, blas.Trans},
	{1024, 8192, 256, blas.Trans, blas.NoTrans},
	{1024, 8192, 256, blas.Trans, blas.Trans},
	{128, 128, 64, blas.NoTrans, blas.Trans},   // attention scores, one head
	{128, 64, 128, blas.NoTrans, blas.NoTrans}, // attention output, one head
}

// BenchmarkSgemm reports GFLOP/s (2mnk per product; the mean over the
// run, and the fastest single call) for each implementation and shape.
// Run one implementation with -bench 'Sgemm/goasm'.
func BenchmarkSgemm(b *testing.B) {
	for _, im := range benchImpls {
		for _, s := range benchShapes {
			name := fmt.Sprintf("%s/%c%c/%dx%dx%d", im.name, s.tA, s.tB, s.m, s.n, s.k)
			b.Run(name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				a := randSlice(rng, s.m*s.k)
				bm := randSlice(rng, s.k*s.n)
				c := make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.tA != blas.NoTrans {
					lda = s.m
				}
				if s.tB != blas.NoTrans {
					ldb = s.k
				}
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					im.impl.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
					best = min(best, time.Since(t0))
				}
				flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				// On a shared machine the fastest call shows what the code
				// does when it has the cores; the mean shows what it got.
				b.ReportMetric(flop/best.Seconds()/1e9, "best-GFLOP/s")
			})
		}
	}
}

// BenchmarkKernels reports single-threaded GFLOP/s of each kernel this CPU
// runs, on a 512×512×512 product.
func BenchmarkKernels(b *testing.B) {
	const m, n, k = 512, 512, 512
	rng := rand.New(rand.NewPCG(1, 1))
	a, bm, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
	for _, kern := range kernels() {
		b.Run(kern.name, func(b *testing.B) {
			for b.Loop() {
				sgemm(kern, 1, false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
			}
			b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
