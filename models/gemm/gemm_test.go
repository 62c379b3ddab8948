package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// testKernels returns every kernel this CPU runs, plus copies of each with
// tiny mc and nc so that small products cross block boundaries.
func testKernels() []*kernel {
	var ks []*kernel
	for _, k := range kernels() {
		small := *k
		small.name += "-smallblocks"
		small.mc = 2 * k.mr
		small.nc = 2 * k.nr
		ks = append(ks, k, &small)
	}
	return ks
}

// refGemm is the textbook product, accumulated in float64. It also returns
// for each element an error bound for a float32 computation:
// (k+2)·eps·(|alpha|·Σ|a||b| + |beta·c|), doubled for slack.
func refGemm(aTrans, bTrans bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, tol []float64) {
	want = make([]float64, m*n)
	tol = make([]float64, m*n)
	const eps = 1.0 / (1 << 24)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if aTrans {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if bTrans {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				abs += math.Abs(av * bv)
			}
			v := float64(alpha) * s
			bound := math.Abs(float64(alpha)) * abs
			if beta != 0 {
				cv := float64(beta) * float64(c[i*ldc+j])
				v += cv
				bound += math.Abs(cv)
			}
			want[i*n+j] = v
			tol[i*n+j] = 2*float64(k+2)*eps*bound + 1e-30
		}
	}
	return want, tol
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

type gemmCase struct {
	aTrans, bTrans bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra leading-dimension elements
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/m%d_n%d_k%d/alpha%g_beta%g/pad%d", t(tc.aTrans), t(tc.bTrans), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// run checks one case on each kernel with the given thread counts against
// the reference, checks that padding in C is not touched, and that the
// thread counts agree bit for bit.
func (tc gemmCase) run(t *testing.T, rng *rand.Rand, kerns []*kernel, threads ...int) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tc.aTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tc.bTrans {
		br, bc = n, k
	}
	lda, ldb, ldc := max(1, ac)+tc.pad, max(1, bc)+tc.pad, max(1, n)+tc.pad
	a := randSlice(rng, max(0, (ar-1)*lda+ac))
	b := randSlice(rng, max(0, (br-1)*ldb+bc))
	c0 := randSlice(rng, (m-1)*ldc+n)
	if tc.beta == 0 {
		// BLAS: C is not read when beta == 0, so NaN must not leak.
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				c0[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	want, tol := refGemm(tc.aTrans, tc.bTrans, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c0, ldc)
	for _, kern := range kerns {
		tc.check(t, kern, threads, a, lda, b, ldb, c0, ldc, want, tol)
	}
}

func (tc gemmCase) check(t *testing.T, kern *kernel, threads []int, a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int, want, tol []float64) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	var first []float32
	for _, th := range threads {
		c := append([]float32(nil), c0...)
		sgemm(kern, th, tc.aTrans, tc.bTrans, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
		for i := 0; i < m; i++ {
			for j := 0; j < ldc && i*ldc+j < len(c); j++ {
				got := c[i*ldc+j]
				if j >= n {
					if math.Float32bits(got) != math.Float32bits(c0[i*ldc+j]) {
						t.Fatalf("%v %s threads %d: padding C[%d][%d] changed from %g to %g", tc, kern.name, th, i, j, c0[i*ldc+j], got)
					}
					continue
				}
				w := want[i*n+j]
				if d := math.Abs(float64(got) - w); !(d <= tol[i*n+j]) {
					t.Fatalf("%v %s threads %d: C[%d][%d] = %g, want %g (|diff| %g > tol %g)", tc, kern.name, th, i, j, got, w, d, tol[i*n+j])
				}
			}
		}
		if first == nil {
			first = c
			continue
		}
		for i := range c {
			if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
				t.Fatalf("%v %s: threads %d differs from threads %d at %d: %g vs %g", tc, kern.name, th, threads[0], i, c[i], first[i])
			}
		}
	}
}

var oddSizes = []int{1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 100, 257}

// TestSgemmShapes runs every (m, n, k) from oddSizes with every transpose
// on every kernel, with random padding of the leading dimensions.
func TestSgemmShapes(t *testing.T) {
	sizes := oddSizes
	if testing.Short() {
		sizes = []int{1, 2, 7, 16, 17, 33, 65, 257}
	}
	kerns := kernels()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range sizes {
		for _, n := range sizes {
			for _, k := range sizes {
				for tr := 0; tr < 4; tr++ {
					tc := gemmCase{aTrans: tr&1 != 0, bTrans: tr&2 != 0, m: m, n: n, k: k, alpha: 1, beta: 0, pad: rng.IntN(3)}
					// Vary alpha and beta over the cases: 0 and 1 are
					// special in BLAS, the others are general.
					switch (m + n + k + tr) % 4 {
					case 1:
						tc.beta = 1
					case 2:
						tc.alpha, tc.beta = 0.5, -1.5
					case 3:
						tc.alpha, tc.beta = -2, 0
					}
					tc.run(t, rng, kerns, 1)
				}
			}
		}
	}
}

// TestSgemmAlphaBeta runs every alpha, beta pair from {0, 1, -0.7} with
// every transpose and thread counts 1, 2 and 3, on small-block kernels so
// that products cross every block boundary.
func TestSgemmAlphaBeta(t *testing.T) {
	scalars := []float32{0, 1, -0.7}
	shapes := [][3]int{{1, 1, 1}, {17, 33, 7}, {65, 31, 257}, {100, 257, 300}, {40, 3, 600}}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range shapes {
		for tr := 0; tr < 4; tr++ {
			for _, alpha := range scalars {
				for _, beta := range scalars {
					tc := gemmCase{aTrans: tr&1 != 0, bTrans: tr&2 != 0, m: sh[0], n: sh[1], k: sh[2], alpha: alpha, beta: beta, pad: 2}
					tc.run(t, rng, testKernels(), 1, 2, 3)
				}
			}
		}
	}
}

// TestSgemmZeroK checks that k == 0 scales C by beta, and does not read it
// when beta == 0.
func TestSgemmZeroK(t *testing.T) {
	c := []float32{1, 2, float32(math.NaN()), 4}
	Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 0, 1, make([]float32, 2), 1, make([]float32, 2), 2, 0, c, 2)
	for i, v := range c {
		if v != 0 {
			t.Errorf("beta=0, k=0: c[%d] = %g, want 0", i, v)
		}
	}
	c = []float32{1, 2, 3, 4}
	Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 0, 1, make([]float32, 2), 1, make([]float32, 2), 2, 2, c, 2)
	for i, v := range c {
		if want := float32(2 * (i + 1)); v != want {
			t.Errorf("beta=2, k=0: c[%d] = %g, want %g", i, v, want)
		}
	}
}

// TestSgemmThreads checks that big products give bit-identical results
// whatever the thread count, splitting columns (wide C) and rows (narrow C).
func TestSgemmThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][3]int{{300, 200, 600}, {700, 20, 300}, {64, 1100, 40}} {
		for tr := 0; tr < 4; tr++ {
			tc := gemmCase{aTrans: tr&1 != 0, bTrans: tr&2 != 0, m: sh[0], n: sh[1], k: sh[2], alpha: 1.5, beta: 0.5, pad: 1}
			tc.run(t, rng, testKernels(), 1, 2, 3, 4, 7)
		}
	}
}

// TestKernelsAgree checks that the assembly kernels give bit-identical
// results, so a product does not depend on which x86 CPU runs it.
func TestKernelsAgree(t *testing.T) {
	var asm []*kernel
	for _, k := range kernels() {
		if k != generic {
			asm = append(asm, k)
		}
	}
	if len(asm) < 2 {
		t.Skipf("this CPU runs %d assembly kernel(s); need 2 to compare", len(asm))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	m, n, k := 77, 150, 700
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	c0 := randSlice(rng, m*n)
	var first []float32
	for _, kern := range asm {
		c := append([]float32(nil), c0...)
		sgemm(kern, 2, false, true, m, n, k, 0.3, a, k, b, k, 0.9, c, n)
		if first == nil {
			first = c
			continue
		}
		for i := range c {
			if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
				t.Fatalf("%s and %s differ at %d: %g vs %g", asm[0].name, kern.name, i, first[i], c[i])
			}
		}
	}
}

// TestSgemmPanics checks that bad arguments panic with gonum's messages.
func TestSgemmPanics(t *testing.T) {
	a := make([]float32, 100)
	cases := []struct {
		name          string
		tA, tB        blas.Transpose
		m, n, k       int
		lda, ldb, ldc int
		la, lb, lc    int
	}{
		{"bad tA", 'x', blas.NoTrans, 2, 2, 2, 2, 2, 2, 4, 4, 4},
		{"bad tB", blas.NoTrans, 'x', 2, 2, 2, 2, 2, 2, 4, 4, 4},
		{"m<0", blas.NoTrans, blas.NoTrans, -1, 2, 2, 2, 2, 2, 4, 4, 4},
		{"n<0", blas.NoTrans, blas.NoTrans, 2, -1, 2, 2, 2, 2, 4, 4, 4},
		{"k<0", blas.NoTrans, blas.NoTrans, 2, 2, -1, 2, 2, 2, 4, 4, 4},
		{"lda", blas.NoTrans, blas.NoTrans, 2, 3, 4, 3, 3, 3, 8, 12, 6},
		{"lda T", blas.Trans, blas.NoTrans, 3, 2, 2, 2, 2, 2, 6, 4, 6},
		{"ldb", blas.NoTrans, blas.NoTrans, 2, 3, 4, 4, 2, 3, 8, 12, 6},
		{"ldb T", blas.NoTrans, blas.Trans, 2, 3, 4, 4, 3, 3, 8, 12, 6},
		{"ldc", blas.NoTrans, blas.NoTrans, 2, 3, 4, 4, 3, 2, 8, 12, 6},
		{"short a", blas.NoTrans, blas.NoTrans, 2, 3, 4, 4, 3, 3, 7, 12, 6},
		{"short b", blas.NoTrans, blas.NoTrans, 2, 3, 4, 4, 3, 3, 8, 11, 6},
		{"short c", blas.NoTrans, blas.NoTrans, 2, 3, 4, 4, 3, 3, 8, 12, 5},
	}
	catch := func(f func()) (msg any) {
		defer func() { msg = recover() }()
		f()
		return nil
	}
	for _, tc := range cases {
		call := func(impl blas.Float32) func() {
			return func() {
				impl.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, a[:tc.la], tc.lda, a[:tc.lb], tc.ldb, 0, make([]float32, tc.lc), tc.ldc)
			}
		}
		want := catch(call(gonum.Implementation{}))
		got := catch(call(Implementation{}))
		if want == nil {
			t.Fatalf("%s: gonum does not panic; the case is wrong", tc.name)
		}
		if got != want {
			t.Errorf("%s: panic %v, want %v", tc.name, got, want)
		}
	}
}

// TestSgemmAllocs checks that steady-state products reuse their buffers.
func TestSgemmAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	m, n, k := 64, 96, 80
	a, b, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
	impl := New(1) // the zero value's shared pool may be emptied by a GC mid-test
	allocs := testing.AllocsPerRun(20, func() {
		impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
	})
	if allocs != 0 {
		t.Errorf("single-threaded Sgemm allocates %v times per call, want 0", allocs)
	}
	m, n, k = 256, 256, 256
	a, b, c = randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
	impl = New(2)
	impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
	// Starting the helper goroutine may allocate (a goroutine descriptor,
	// when the scheduler has none free: it depends on timing, so the count
	// is not asserted), but the packing buffers (here over 64 KiB) must
	// not be reallocated: fewer than 4 KiB per call.
	const calls = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / calls; per >= 4096 {
		t.Errorf("two-threaded Sgemm allocates %d bytes per call, want under 4096", per)
	}
}

// TestImplementation checks that Implementation is used through the
// blas.Float32 interface and that the other routines are gonum's.
func TestImplementation(t *testing.T) {
	var impl blas.Float32 = Implementation{Threads: 2}
	x := []float32{1, 2, 3}
	if got := impl.Sdot(3, x, 1, x, 1); got != 14 {
		t.Errorf("Sdot = %g, want 14", got)
	}
	c := make([]float32, 4)
	impl.Sgemm(blas.NoTrans, blas.Trans, 2, 2, 3, 1, []float32{1, 2, 3, 4, 5, 6}, 3, []float32{1, 0, 0, 0, 1, 0}, 3, 0, c, 2)
	want := []float32{1, 2, 4, 5}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("Sgemm = %v, want %v", c, want)
		}
	}
	if KernelName() == "" {
		t.Error("KernelName is empty")
	}
}

// TestTrans checks each kernel's transposing pack exactly, padding
// included, for widths, row counts and depths around its block sizes.
func TestTrans(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, kern := range kernels() {
		for _, w := range []int{4, 6, 12, 16, 32} {
			for rows := 1; rows <= w; rows++ {
				for _, k := range []int{1, 7, 8, 9, 16, 23, 40} {
					lds := k + rng.IntN(5)
					src := randSlice(rng, (rows-1)*lds+k)
					dst := make([]float32, w*k)
					for i := range dst {
						dst[i] = float32(math.NaN())
					}
					kern.trans(dst, w, src, lds, rows, k)
					for p := 0; p < k; p++ {
						for r := 0; r < w; r++ {
							want := float32(0)
							if r < rows {
								want = src[r*lds+p]
							}
							if got := dst[p*w+r]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%s: w %d rows %d k %d: dst[%d*w+%d] = %g, want %g", kern.name, w, rows, k, p, r, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestCopyPad checks the copy with zero padding used by the packs.
func TestCopyPad(t *testing.T) {
	for _, n := range []int{4, 6, 12, 16, 32, 5} {
		for m := 0; m <= n; m++ {
			src := make([]float32, m)
			for i := range src {
				src[i] = float32(i + 1)
			}
			dst := make([]float32, n)
			for i := range dst {
				dst[i] = float32(math.NaN())
			}
			copyPad(dst, src)
			for i, v := range dst {
				want := float32(0)
				if i < m {
					want = float32(i + 1)
				}
				if v != want {
					t.Fatalf("copyPad(%d of %d): dst[%d] = %g, want %g", m, n, i, v, want)
				}
			}
		}
	}
}

// TestNewKeepsBuffers checks that an Implementation from New keeps its
// packing buffers across garbage collections (which empty the shared
// pool) and products of other sizes.
func TestNewKeepsBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	big, small := 96, 40
	a, b, c := randSlice(rng, big*big), randSlice(rng, big*big), make([]float32, big*big)
	impl := New(1)
	impl.Sgemm(blas.NoTrans, blas.NoTrans, big, big, big, 1, a, big, b, big, 0, c, big)
	allocs := testing.AllocsPerRun(10, func() {
		runtime.GC()
		impl.Sgemm(blas.NoTrans, blas.Trans, small, small, small, 1, a, small, b, small, 0, c, small)
		impl.Sgemm(blas.NoTrans, blas.NoTrans, big, big, big, 1, a, big, b, big, 0, c, big)
	})
	if allocs != 0 {
		t.Errorf("Sgemm of New(1) allocates %v times per pair of calls after a GC, want 0", allocs)
	}
	// The result is the same as the zero value's.
	want := make([]float32, big*big)
	Implementation{Threads: 1}.Sgemm(blas.NoTrans, blas.NoTrans, big, big, big, 1, a, big, b, big, 0, want, big)
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("c[%d] = %v, zero value gives %v", i, c[i], want[i])
		}
	}
}

// TestPickKernel checks SLEEPBENCH_KERNEL's choice: empty takes the
// fastest, a runnable name takes that kernel, anything else the fastest
// with an error naming the variable and the kernels this CPU runs.
func TestPickKernel(t *testing.T) {
	a, b := &kernel{name: "avx512"}, &kernel{name: "avx2"}
	ks := []*kernel{a, b, generic}
	if k, err := pick(ks, ""); k != a || err != nil {
		t.Errorf("empty: %s %v", k.name, err)
	}
	if k, err := pick(ks, "avx2"); k != b || err != nil {
		t.Errorf("avx2: %s %v", k.name, err)
	}
	k, err := pick([]*kernel{b, generic}, "avx512")
	if k != b || err == nil || !strings.Contains(err.Error(), "SLEEPBENCH_KERNEL") || !strings.Contains(err.Error(), "avx2, go") {
		t.Errorf("unavailable: %s %v", k.name, err)
	}
}

func TestSameResults(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"avx512", "avx2", true}, {"avx2", "avx2", true}, {"go", "go", true}, {"avx512", "go", false}, {"go", "avx2", false}} {
		if got := SameResults(c.a, c.b); got != c.want {
			t.Errorf("SameResults(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
