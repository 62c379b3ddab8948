package gemm

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is a blas.Float32 whose Sgemm is this package's blocked,
// multi-threaded product; every other routine is gonum's pure-Go one.
// The zero value is ready to use; it takes its packing buffers from a
// sync.Pool shared by the process, which the garbage collector empties,
// so products reallocate them after each collection. An Implementation
// made by New keeps its own buffers instead: after its first products of
// each size it allocates none (a model's training steps, for instance).
type Implementation struct {
	gonum.Implementation
	// Threads is the number of goroutines a large product is split over;
	// zero or less means runtime.GOMAXPROCS(0). The result does not depend
	// on it.
	Threads int

	free *freeList // nil: the shared pool
}

// New returns an Implementation on threads goroutines (as the Threads
// field) that keeps its packing buffers between products. Copies share
// them; concurrent products are safe.
func New(threads int) Implementation {
	return Implementation{Threads: threads, free: &freeList{}}
}

// freeList holds the idle work values of one Implementation made by New.
type freeList struct {
	mu   sync.Mutex
	idle []*work
}

// get returns an idle work value of l, or of the shared pool when l is nil.
func (l *freeList) get() *work {
	if l == nil {
		return pool.Get().(*work)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.idle); n > 0 {
		w := l.idle[n-1]
		l.idle = l.idle[:n-1]
		return w
	}
	return newWork()
}

// put returns w to l, or to the shared pool when l is nil.
func (l *freeList) put(w *work) {
	if l == nil {
		pool.Put(w)
		return
	}
	l.mu.Lock()
	l.idle = append(l.idle, w)
	l.mu.Unlock()
}

var _ blas.Float32 = Implementation{}

// best is the kernel Sgemm uses: the fastest this CPU runs, or the one
// the environment variable SLEEPBENCH_KERNEL names (see KernelEnv).
var best, kernelErr = pick(kernels(), os.Getenv(KernelEnv))

// KernelEnv is the environment variable that picks a slower kernel than
// the CPU's best, to time the path of CPUs without it: "avx2" on an
// AVX-512 CPU, or "go" for the portable kernel. Unset or empty means the
// fastest. It is read once, when the program starts.
const KernelEnv = "SLEEPBENCH_KERNEL"

// pick returns the kernel of ks named want, or ks[0] when want is empty.
// An unknown name, or one this CPU cannot run, returns ks[0] and an error.
func pick(ks []*kernel, want string) (*kernel, error) {
	if want == "" {
		return ks[0], nil
	}
	var names []string
	for _, k := range ks {
		if k.name == want {
			return k, nil
		}
		names = append(names, k.name)
	}
	return ks[0], fmt.Errorf("%s=%q: this CPU runs the kernels %s", KernelEnv, want, strings.Join(names, ", "))
}

// KernelName names the micro-kernel Sgemm uses: "avx512", "avx2" or "go".
func KernelName() string { return best.name }

// SameResults reports whether kernels a and b give bit-identical
// products: the same kernel, or the two assembly kernels (avx512 and
// avx2 sum in the same order; TestKernelsAgree). The portable "go"
// kernel may differ from them in the last bit.
func SameResults(a, b string) bool {
	asm := func(k string) bool { return k == "avx512" || k == "avx2" }
	return a == b || asm(a) && asm(b)
}

// KernelErr reports a SLEEPBENCH_KERNEL that could not be honoured (the
// fastest kernel is used instead); nil otherwise. Commands check it
// before they measure anything.
func KernelErr() error { return kernelErr }

// Panic messages, as gonum words them.
const (
	badTranspose = "blas: illegal transpose"
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
)

// Sgemm performs one of the matrix-matrix operations
//
//	C = alpha * A * B + beta * C
//	C = alpha * Aᵀ * B + beta * C
//	C = alpha * A * Bᵀ + beta * C
//	C = alpha * Aᵀ * Bᵀ + beta * C
//
// on row-major matrices, where A is an m×k or k×m matrix, B is a k×n or
// n×k matrix, C is an m×n matrix, and alpha and beta are scalars. tA and
// tB say whether A or B is transposed. C is not read when beta == 0. It
// panics on bad arguments, as gonum's Sgemm does.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	aTrans, bTrans := check(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	threads := impl.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	sgemmWith(impl.free, best, threads, aTrans, bTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// check validates Sgemm's arguments like gonum does and reports whether
// A and B are transposed.
func check(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (aTrans, bTrans bool) {
	switch tA {
	case blas.NoTrans:
	case blas.Trans, blas.ConjTrans:
		aTrans = true
	default:
		panic(badTranspose)
	}
	switch tB {
	case blas.NoTrans:
	case blas.Trans, blas.ConjTrans:
		bTrans = true
	default:
		panic(badTranspose)
	}
	if m < 0 {
		panic(mLT0)
	}
	if n < 0 {
		panic(nLT0)
	}
	if k < 0 {
		panic(kLT0)
	}
	if aTrans {
		if lda < max(1, m) {
			panic(badLdA)
		}
	} else if lda < max(1, k) {
		panic(badLdA)
	}
	if bTrans {
		if ldb < max(1, k) {
			panic(badLdB)
		}
	} else if ldb < max(1, n) {
		panic(badLdB)
	}
	if ldc < max(1, n) {
		panic(badLdC)
	}
	if m == 0 || n == 0 {
		return
	}
	if aTrans {
		if len(a) < (k-1)*lda+m {
			panic(shortA)
		}
	} else if len(a) < (m-1)*lda+k {
		panic(shortA)
	}
	if bTrans {
		if len(b) < (n-1)*ldb+k {
			panic(shortB)
		}
	} else if len(b) < (k-1)*ldb+n {
		panic(shortB)
	}
	if len(c) < (m-1)*ldc+n {
		panic(shortC)
	}
	return
}

// parallelMin is the number of multiply-adds below which a product runs on
// one goroutine: waking another would cost more than it saves.
const parallelMin = 1 << 21

// sgemm computes C = alpha·op(A)·op(B) + beta·C with kernel kern on up to
// threads goroutines. Arguments are valid and m, n > 0.
func sgemm(kern *kernel, threads int, aTrans, bTrans bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmWith(nil, kern, threads, aTrans, bTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmWith is sgemm with its work value (and so its packing buffers)
// taken from fl, or from the shared pool when fl is nil.
func sgemmWith(fl *freeList, kern *kernel, threads int, aTrans, bTrans bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if alpha == 0 || k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	w := fl.get()
	w.kern = kern
	w.aTrans, w.bTrans = aTrans, bTrans
	w.m, w.n, w.k = m, n, k
	w.alpha, w.beta = alpha, beta
	w.a, w.b, w.c = a, b, c
	w.lda, w.ldb, w.ldc = lda, ldb, ldc
	w.plan(threads)
	w.gen++
	w.join.Store(uint64(w.gen) << 32)
	for t := 1; t < w.threads; t++ {
		go w.worker(t, w.gen)
	}
	w.do(0)
	w.waitCount(&w.allDone, w.total)
	// Close the product to helpers that have not started yet (they will
	// find a closed or newer generation and leave without touching w),
	// and wait for those that joined to leave.
	for {
		s := w.join.Load()
		if w.join.CompareAndSwap(s, s|closed) {
			break
		}
	}
	w.mu.Lock()
	for w.join.Load()&joined != 0 {
		w.cond.Wait()
	}
	w.mu.Unlock()
	w.a, w.b, w.c = nil, nil, nil
	fl.put(w)
}

// Bits of work.join: the product's generation in the high 32 bits, then a
// closed flag, then the number of helpers working on it.
const (
	closed = 1 << 31
	joined = closed - 1
)

// scale sets C = beta·C, without reading C when beta == 0.
func scale(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
