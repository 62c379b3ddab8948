package gemm

import (
	"sync"
	"sync/atomic"
)

// The blocked, multi-threaded product behind Sgemm: a work value plans
// the blocks of one product, packs A and B into micro-panels and hands
// the chunks of C to its workers.

// pool holds work values, so that steady-state products reuse their
// packing buffers instead of allocating.
var pool = sync.Pool{New: func() any { return newWork() }}

// newWork returns a work value with no buffers yet.
func newWork() *work {
	w := new(work)
	w.cond.L = &w.mu
	return w
}

// work is one product in flight: its arguments, its schedule and its
// packing buffers.
//
// The product is cut into blocks: rows [ic, ic+mc) of C times depth
// [pc, pc+kc), ic-major, so that each element of C receives its depth blocks
// in order. Each block packs its part of A into one of two shared buffers
// (alternating, so the next block can be packed while the last chunks of
// the one before run), then its chunks of C (columns, or rows × columns
// when C is narrow) are taken by whichever goroutine is free. A goroutine
// packs the part of B its chunk needs into its own buffer. A chunk waits
// only for its A to be packed and for the same chunk of the block before
// (same rows of C, earlier depth), so a goroutine that the OS does not
// schedule delays the others by little; one that starts late joins where
// the product is, or not at all if it is over.
type work struct {
	kern           *kernel
	aTrans, bTrans bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	threads int
	mc      int // rows per block
	nk      int // depth blocks
	blocks  int
	cw      int // columns per chunk
	cch     int // column chunks
	rch     int // row chunks (1 unless C is narrow)
	state   []blockState
	flags   []atomic.Uint32 // per block and chunk: 1 once done
	total   int32           // chunks in the product
	allDone atomic.Int32    // chunks done
	waiters atomic.Int32    // goroutines in the slow path of a wait
	abuf    [2][]float32
	bbuf    [][]float32 // per goroutine: the packed B of a chunk
	tile    [][]float32 // per goroutine: an mr×nr tile for the edges of C
	gen     uint32
	join    atomic.Uint64 // see closed and joined
	mu      sync.Mutex
	cond    sync.Cond // signalled when a block is packed or done
}

// blockState counts the progress of one block.
type blockState struct {
	packNext, packDone   atomic.Int32 // A panel groups taken, A panels packed
	chunkNext, chunkDone atomic.Int32 // chunks taken, chunks done
}

// packGroup is the number of A panels one goroutine packs at a time.
const packGroup = 4

// plan chooses the number of goroutines and the blocking, and sizes the
// buffers.
func (w *work) plan(threads int) {
	mr, nr := w.kern.mr, w.kern.nr
	mp := (w.m + mr - 1) / mr // row panels
	nt := (w.n + nr - 1) / nr // column tiles
	t := threads
	if w.m*w.n*w.k < parallelMin {
		t = 1
	}
	t = max(1, min(t, mp*nt))
	w.threads = t

	w.mc = min(w.kern.mc, mp*mr)
	w.nk = (w.k + kc - 1) / kc
	w.blocks = (w.m + w.mc - 1) / w.mc * w.nk
	// Chunks: about four per goroutine, at most nc columns wide. When C is
	// too narrow for that, cut its rows too.
	w.cw = min(w.kern.nc, (nt+4*t-1)/(4*t)*nr)
	w.cch = (w.n + w.cw - 1) / w.cw
	w.rch = 1
	if t > 1 && w.cch < 4*t {
		w.rch = min((w.mc+mr-1)/mr, (4*t+w.cch-1)/w.cch)
	}

	if cap(w.state) < w.blocks {
		w.state = make([]blockState, w.blocks)
	}
	w.state = w.state[:w.blocks]
	w.total = 0
	for i := range w.state {
		s := &w.state[i]
		s.packNext.Store(0)
		s.packDone.Store(0)
		s.chunkNext.Store(0)
		s.chunkDone.Store(0)
		w.total += w.chunks(i)
	}
	w.allDone.Store(0)
	nf := w.blocks * w.rch * w.cch
	if cap(w.flags) < nf {
		w.flags = make([]atomic.Uint32, nf)
	}
	w.flags = w.flags[:nf]
	for i := range w.flags {
		w.flags[i].Store(0)
	}
	kd := min(kc, w.k)
	for i := range w.abuf {
		w.abuf[i] = growOne(w.abuf[i], w.mc*kd)
	}
	w.bbuf = grow(w.bbuf, t, w.cw*kd)
	w.tile = grow(w.tile, t, mr*nr)
}

// grow returns bufs with at least count buffers of at least size floats.
func grow(bufs [][]float32, count, size int) [][]float32 {
	for len(bufs) < count {
		bufs = append(bufs, nil)
	}
	for i := 0; i < count; i++ {
		bufs[i] = growOne(bufs[i], size)
	}
	return bufs
}

// growOne returns buf, or a new buffer if buf holds fewer than size floats.
func growOne(buf []float32, size int) []float32 {
	if cap(buf) < size {
		return make([]float32, size)
	}
	return buf[:cap(buf)]
}

// span returns the t-th of parts contiguous shares of [0, n).
func span(n, parts, t int) (lo, hi int) {
	return n * t / parts, n * (t + 1) / parts
}

// rows returns the first row of C in block b and its number of rows.
func (w *work) rows(b int) (ic, mcur int) {
	ic = b / w.nk * w.mc
	return ic, min(w.mc, w.m-ic)
}

// chunks returns the number of chunks of block b.
func (w *work) chunks(b int) int32 {
	_, mcur := w.rows(b)
	np := (mcur + w.kern.mr - 1) / w.kern.mr
	return int32(min(w.rch, np) * w.cch)
}

// worker helps with product gen of w as goroutine t, unless that product
// is finished (w may then serve another product, or none).
func (w *work) worker(t int, gen uint32) {
	for {
		s := w.join.Load()
		if uint32(s>>32) != gen || s&closed != 0 {
			return
		}
		if w.join.CompareAndSwap(s, s+1) {
			break
		}
	}
	w.do(t)
	w.mu.Lock()
	w.join.Add(^uint64(0)) // one helper fewer
	w.cond.Broadcast()
	w.mu.Unlock()
}

// waitCount blocks until *n reaches want.
func (w *work) waitCount(n *atomic.Int32, want int32) {
	for i := 0; i < 1000; i++ {
		if n.Load() >= want {
			return
		}
	}
	w.mu.Lock()
	w.waiters.Add(1)
	for n.Load() < want {
		w.cond.Wait()
	}
	w.waiters.Add(-1)
	w.mu.Unlock()
}

// waitFlag blocks until *f is set.
func (w *work) waitFlag(f *atomic.Uint32) {
	for i := 0; i < 1000; i++ {
		if f.Load() != 0 {
			return
		}
	}
	w.mu.Lock()
	w.waiters.Add(1)
	for f.Load() == 0 {
		w.cond.Wait()
	}
	w.waiters.Add(-1)
	w.mu.Unlock()
}

// wake wakes the goroutines waiting in waitCount or waitFlag, if any, to
// check their condition again. A waiter counts itself before it checks, so
// a change made before wake is seen either by the waiter's check or by
// wake's count.
func (w *work) wake() {
	if w.waiters.Load() > 0 {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// do runs goroutine t's part of the product: whatever packing and chunks
// are left when it gets to them.
func (w *work) do(t int) {
	mr := w.kern.mr
	nflag := w.rch * w.cch // flags per block
	for b := 0; b < w.blocks; b++ {
		s := &w.state[b]
		ic, mcur := w.rows(b)
		pc := b % w.nk * kc
		kcur := min(kc, w.k-pc)
		np := (mcur + mr - 1) / mr
		ap := w.abuf[b&1]
		// Pack A into the buffer that block b-2 used, once it is done.
		if b >= 2 {
			w.waitCount(&w.state[b-2].chunkDone, w.chunks(b-2))
		}
		groups := (np + packGroup - 1) / packGroup
		for {
			g := int(s.packNext.Add(1) - 1)
			if g >= groups {
				break
			}
			lo, hi := g*packGroup, min(np, (g+1)*packGroup)
			w.packA(ap, ic, mcur, lo, hi, pc, kcur)
			if s.packDone.Add(int32(hi-lo)) == int32(np) {
				w.wake()
			}
		}
		w.waitCount(&s.packDone, int32(np))
		beta := w.beta
		if pc > 0 {
			beta = 1
		}
		nch := w.chunks(b)
		rch := nch / int32(w.cch)
		for {
			j := s.chunkNext.Add(1) - 1
			if j >= nch {
				break
			}
			if pc > 0 {
				// The same rows and columns of C at the previous depth.
				w.waitFlag(&w.flags[(b-1)*nflag+int(j)])
			}
			p0, p1 := span(np, int(rch), int(j/int32(w.cch)))
			j0 := int(j%int32(w.cch)) * w.cw
			w.chunk(t, ap, ic, mcur, p0, p1, pc, kcur, j0, min(w.cw, w.n-j0), beta)
			w.flags[b*nflag+int(j)].Store(1)
			s.chunkDone.Add(1)
			w.allDone.Add(1)
			w.wake()
		}
	}
}

// chunk computes, for the block of rows [ic, ic+mcur) and depth
// [pc, pc+kcur) whose A is packed in ap, the product of A panels [p0, p1)
// with columns [j0, j0+cols) of B, into C.
func (w *work) chunk(t int, ap []float32, ic, mcur, p0, p1, pc, kcur, j0, cols int, beta float32) {
	kern := w.kern
	mr, nr := kern.mr, kern.nr
	c, ldc := w.c, w.ldc
	tile := w.tile[t][:mr*nr]
	bp := w.bbuf[t]
	w.packB(bp, pc, kcur, j0, cols)
	nt := (cols + nr - 1) / nr
	for ip := p0; ip < p1; ip++ {
		rows := min(mr, mcur-ip*mr)
		pa := &ap[ip*mr*kcur]
		ci := (ic+ip*mr)*ldc + j0
		for jt := 0; jt < nt; jt++ {
			ncol := min(nr, cols-jt*nr)
			pb := &bp[jt*nr*kcur]
			at := ci + jt*nr
			if rows == mr && ncol == nr {
				kern.fn(kcur, pa, pb, &c[at], ldc, w.alpha, beta)
				continue
			}
			// An edge tile: compute it in tile, then copy the part inside
			// C. Going through the same kernel keeps the rounding identical
			// to a full tile.
			if beta != 0 {
				for r := 0; r < rows; r++ {
					copy(tile[r*nr:r*nr+ncol], c[at+r*ldc:at+r*ldc+ncol])
				}
			}
			kern.fn(kcur, pa, pb, &tile[0], nr, w.alpha, beta)
			for r := 0; r < rows; r++ {
				copy(c[at+r*ldc:at+r*ldc+ncol], tile[r*nr:r*nr+ncol])
			}
		}
	}
}

// packA packs row panels [lo, hi) of the block of op(A) with rows
// [i0, i0+rows) and depth [p0, p0+kcur) into dst: panel ip holds, for each
// depth p, the mr values of its rows, zero-padded past the last row.
func (w *work) packA(dst []float32, i0, rows, lo, hi, p0, kcur int) {
	mr := w.kern.mr
	a, lda := w.a, w.lda
	if w.aTrans {
		// op(A)[i][p] = a[p*lda+i]: each depth is a contiguous run. Walk the
		// depths in the outer loop so that A is read row by row.
		r0 := i0 + lo*mr
		r1 := min(i0+rows, i0+hi*mr)
		for p := 0; p < kcur; p++ {
			src := a[(p0+p)*lda+r0 : (p0+p)*lda+r1]
			for ip := lo; ip < hi; ip++ {
				d := dst[(ip*kcur+p)*mr : (ip*kcur+p+1)*mr]
				s := src[(ip-lo)*mr : min(len(src), (ip-lo+1)*mr)]
				copyPad(d, s)
			}
		}
		return
	}
	// op(A)[i][p] = a[i*lda+p]: each row is a contiguous run.
	for ip := lo; ip < hi; ip++ {
		r0 := i0 + ip*mr
		w.kern.trans(dst[ip*mr*kcur:(ip+1)*mr*kcur], mr, a[r0*lda+p0:], lda, min(mr, i0+rows-r0), kcur)
	}
}

// packB packs the block of op(B) with depth [p0, p0+kcur) and columns
// [j0, j0+cols) into dst: micro-panel jt holds, for each depth p, the nr
// values of its columns, zero-padded past the last column.
func (w *work) packB(dst []float32, p0, kcur, j0, cols int) {
	nr := w.kern.nr
	b, ldb := w.b, w.ldb
	nt := (cols + nr - 1) / nr
	if !w.bTrans {
		// op(B)[p][j] = b[p*ldb+j]: each depth is a contiguous run. Walk the
		// depths in the outer loop so that B is read row by row.
		for p := 0; p < kcur; p++ {
			src := b[(p0+p)*ldb+j0 : (p0+p)*ldb+j0+cols]
			for jt := 0; jt < nt; jt++ {
				d := dst[(jt*kcur+p)*nr : (jt*kcur+p+1)*nr]
				s := src[jt*nr : min(cols, (jt+1)*nr)]
				copyPad(d, s)
			}
		}
		return
	}
	// op(B)[p][j] = b[j*ldb+p]: each column is a contiguous run.
	for jt := 0; jt < nt; jt++ {
		c0 := j0 + jt*nr
		w.kern.trans(dst[jt*nr*kcur:(jt+1)*nr*kcur], nr, b[c0*ldb+p0:], ldb, min(nr, j0+cols-c0), kcur)
	}
}

// copyPad copies src to the start of dst and zeroes the rest of dst.
// Full micro-panel rows of the kernels' widths copy as arrays, which the
// compiler turns into a few vector moves instead of a call to memmove.
func copyPad(dst, src []float32) {
	if len(src) == len(dst) {
		switch len(dst) {
		case 32:
			*(*[32]float32)(dst) = *(*[32]float32)(src)
			return
		case 16:
			*(*[16]float32)(dst) = *(*[16]float32)(src)
			return
		case 12:
			*(*[12]float32)(dst) = *(*[12]float32)(src)
			return
		case 6:
			*(*[6]float32)(dst) = *(*[6]float32)(src)
			return
		case 4:
			*(*[4]float32)(dst) = *(*[4]float32)(src)
			return
		}
	}
	copy(dst, src)
	clear(dst[len(src):])
}
