package models

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
)

// This file holds the layers: each a forward and a backward function over
// flat row-major buffers, llm.c style. Matrix products go through a
// blas.Float32; row-wise work is split over goroutines with parallel.
// Backward functions write the gradients of the parameters they use
// (only the embedding's scatter adds to them); what they do to input
// gradients is stated on each.

// grain is roughly the number of float32 operations below which a kernel
// is not worth a goroutine.
const grain = 1 << 14

// split returns how many workers to use for work units of total size work.
func split(threads, work int) int {
	return max(1, min(threads, work/grain))
}

// grow returns s with length n, reallocating only when its capacity is
// too small (the contents are then lost).
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// expf is e^x in float32 (Cephes' expf: range reduction by ln 2 and a
// degree-5 polynomial; relative error about 2e-7). Arguments are clamped
// to [-87, 88], so expf never returns 0 or +Inf.
func expf(x float32) float32 {
	x = min(max(x, -87), 88)
	k := x*1.44269504088896341 + 12582912 // round to nearest via 1.5·2²³
	k -= 12582912
	r := x - k*0.693359375 + k*2.12194440e-4
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	return (p*r*r + r + 1) * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// linearForward sets out[N,O] = in[N,I]·wᵀ + bias, with w stored [O,I]
// (bias may be nil).
func linearForward(bl blas.Float32, out, in, w, bias []float32, N, I, O int) {
	beta := float32(0)
	if bias != nil {
		for n := 0; n < N; n++ {
			copy(out[n*O:(n+1)*O], bias)
		}
		beta = 1
	}
	bl.Sgemm(blas.NoTrans, blas.Trans, N, O, I, 1, in, I, w, I, beta, out, O)
}

// linearResidual sets out[N,O] = res + in[N,I]·wᵀ + bias: the residual
// and the bias are written first, and the product is accumulated onto
// them.
func linearResidual(bl blas.Float32, out, res, in, w, bias []float32, N, I, O, threads int) {
	parallel(split(threads, 2*N*O), N, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			o, r := out[n*O:(n+1)*O], res[n*O:(n+1)*O]
			r, b := r[:len(o)], bias[:len(o)]
			for i := range o {
				o[i] = r[i] + b[i]
			}
		}
	})
	bl.Sgemm(blas.NoTrans, blas.Trans, N, O, I, 1, in, I, w, I, 1, out, O)
}

// linearBackward sets dw[O,I] = dout[N,O]ᵀ·in and db (if not nil) to the
// column sums of dout, and sets din[N,I] = dout·w + beta·din (if din is
// not nil). Every weight gets its gradient from one product per step, so
// these are written, not accumulated.
func linearBackward(bl blas.Float32, din, dw, db, dout, in, w []float32, N, I, O int, beta float32, threads int) {
	if din != nil {
		bl.Sgemm(blas.NoTrans, blas.NoTrans, N, I, O, 1, dout, O, w, I, beta, din, I)
	}
	bl.Sgemm(blas.Trans, blas.NoTrans, O, I, N, 1, dout, O, in, I, 0, dw, I)
	if db != nil {
		colSum(db, dout, N, O, threads)
	}
}

// colSum sets dst[C] to the column sums of src[N,C]. Columns are split
// among workers, and each sums its rows in order, so the result does not
// depend on threads.
func colSum(dst, src []float32, N, C, threads int) {
	parallel(split(threads, N*C), C, func(_, lo, hi int) {
		d := dst[lo:hi]
		clear(d)
		for n := 0; n < N; n++ {
			s := src[n*C+lo : n*C+hi]
			s = s[:len(d)]
			for i, v := range s {
				d[i] += v
			}
		}
	})
}

// layerNormForward sets out[N,D] = (in − mean)·rstd·w + b row by row and
// records each row's mean and reciprocal standard deviation.
func layerNormForward(out, mean, rstd, in, w, b []float32, N, D int, eps float32, threads int) {
	parallel(split(threads, 8*N*D), N, func(_, lo, hi int) {
		w, b := w[:D], b[:D]
		for n := lo; n < hi; n++ {
			x := in[n*D : (n+1)*D]
			var s float32
			for _, v := range x {
				s += v
			}
			m := s / float32(D)
			var v2 float32
			for _, v := range x {
				d := v - m
				v2 += d * d
			}
			r := float32(1 / math.Sqrt(float64(v2/float32(D)+eps)))
			o := out[n*D : (n+1)*D]
			for i, v := range x {
				o[i] = (v-m)*r*w[i] + b[i]
			}
			mean[n], rstd[n] = m, r
		}
	})
}

// layerNormBackward sets dw and db to the gradients of w and b, and sets
// (accumulate false) or adds to (accumulate true) din the gradient of the
// input, given dout and the forward's input, mean and rstd.
func layerNormBackward(din, dw, db, dout, in, mean, rstd, w []float32, N, D int, accumulate bool, threads int) {
	parallel(split(threads, 12*N*D), N, func(_, lo, hi int) {
		w := w[:D]
		for n := lo; n < hi; n++ {
			x, g := in[n*D:(n+1)*D], dout[n*D:(n+1)*D]
			x, g = x[:D], g[:D]
			m, r := mean[n], rstd[n]
			var sg, sgx float32
			for i, gi := range g {
				dn := gi * w[i]
				sg += dn
				sgx += dn * (x[i] - m) * r
			}
			sg /= float32(D)
			sgx /= float32(D)
			dx := din[n*D : (n+1)*D]
			dx = dx[:D]
			if accumulate {
				for i, gi := range g {
					dx[i] += r * (gi*w[i] - sg - (x[i]-m)*r*sgx)
				}
			} else {
				for i, gi := range g {
					dx[i] = r * (gi*w[i] - sg - (x[i]-m)*r*sgx)
				}
			}
		}
	})
	parallel(split(threads, 4*N*D), D, func(_, lo, hi int) {
		dw, db := dw[lo:hi], db[lo:hi]
		clear(dw)
		clear(db)
		for n := 0; n < N; n++ {
			x, g := in[n*D+lo:n*D+hi], dout[n*D+lo:n*D+hi]
			x, g = x[:len(dw)], g[:len(dw)]
			m, r := mean[n], rstd[n]
			for i, gi := range g {
				dw[i] += gi * (x[i] - m) * r
				db[i] += gi
			}
		}
	})
}

// GELU is the tanh approximation: gelu(x) = x·σ(2u), u = √(2/π)(x +
// 0.044715x³), which equals ½x(1 + tanh u).
const (
	geluC = 0.7978845608028654 // √(2/π)
	geluA = 0.044715
)

// parallelVec runs fn over [0, n) cut at multiples of 8 (see vec.go).
func parallelVec(threads, n, cost int, fn func(lo, hi int)) {
	parallel(split(threads, cost*n), (n+7)/8, func(_, lo, hi int) { fn(8*lo, min(8*hi, n)) })
}

// geluForward adds bias (if not nil) to each of the rows of in[rows,cols]
// in place, then sets out = gelu(in) in the form act and sig to what the
// backward pass needs (σ(2u) for GELUTanh, Φ(x) for GELUErf). Fusing the
// bias here saves a pass over the matrix.
func geluForward(act Activation, out, sig, in, bias []float32, rows, cols, threads int) {
	parallel(split(threads, 6*rows*cols), rows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			x := in[r*cols : (r+1)*cols]
			if bias != nil {
				b := bias[:len(x)]
				for i := range x {
					x[i] += b[i]
				}
			}
			if act == GELUErf {
				geluErf(out[r*cols:(r+1)*cols], sig[r*cols:(r+1)*cols], x)
			} else {
				gelu(out[r*cols:(r+1)*cols], sig[r*cols:(r+1)*cols], x)
			}
		}
	})
}

// geluBackward multiplies d by gelu′(in) (form act) in place, given the
// forward's sig.
func geluBackward(act Activation, d, in, sig []float32, threads int) {
	if act == GELUErf {
		parallelVec(threads, len(in), 8, func(lo, hi int) { geluErfBack(d[lo:hi], in[lo:hi], sig[lo:hi]) })
		return
	}
	parallelVec(threads, len(in), 2, func(lo, hi int) { geluBack(d[lo:hi], in[lo:hi], sig[lo:hi]) })
}

// embedForward sets out[b*T+t] = wte[ids[b*T+t]] + wpe[t] (+ wtt[0] when
// wtt is not nil).
func embedForward(out []float32, ids []int32, wte, wpe, wtt []float32, B, T, D, threads int) {
	parallel(split(threads, 3*B*T*D), B*T, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			o := out[n*D : (n+1)*D]
			e := wte[int(ids[n])*D:]
			p := wpe[(n%T)*D:]
			e, p = e[:len(o)], p[:len(o)]
			for i := range o {
				o[i] = e[i] + p[i]
			}
			if wtt != nil {
				tt := wtt[:len(o)]
				for i := range o {
					o[i] += tt[i]
				}
			}
		}
	})
}

// embedBackward adds the gradient dx[B*T,D] of embedForward's output to
// the rows of dwte, dwpe and dwtt[0] (dwtt may be nil). Columns are split
// among workers so that rows are added in order, whatever threads is.
func embedBackward(dwte, dwpe, dwtt, dx []float32, ids []int32, B, T, D, threads int) {
	parallel(split(threads, 3*B*T*D), D, func(_, lo, hi int) {
		for n := 0; n < B*T; n++ {
			g := dx[n*D+lo : n*D+hi]
			e := dwte[int(ids[n])*D+lo:]
			p := dwpe[(n%T)*D+lo:]
			e, p = e[:len(g)], p[:len(g)]
			for i, v := range g {
				e[i] += v
				p[i] += v
			}
			if dwtt != nil {
				tt := dwtt[lo:hi]
				for i, v := range g {
					tt[i] += v
				}
			}
		}
	})
}

// softmax replaces p by its softmax.
func softmax(p []float32) {
	s := expShift(p, p, maxOf(p))
	scaleBy(p, 1/s)
}

// xent returns −log softmax(z)[t]. With grad it overwrites z by
// scale·(softmax(z) − onehot(t)), the gradient of scale times the loss,
// and returns arg −1; without, it returns the index of the largest logit
// (the first on ties) as arg and leaves z undefined.
func xent(z []float32, t int, scale float32, grad bool) (loss float64, arg int) {
	mx := maxOf(z)
	zt := z[t]
	arg = -1
	if !grad {
		for j, v := range z {
			if v == mx {
				arg = j
				break
			}
		}
	}
	s := expShift(z, z, mx)
	if grad {
		scaleBy(z, scale/s)
		z[t] -= scale
	}
	return float64(mx) + math.Log(float64(s)) - float64(zt), arg
}

// attn describes a multi-head attention over B sequences of T positions
// with H heads of width D/H. Its input is qkv[B*T, 3D] (queries, keys
// and values side by side; head h in columns h*D/H of each); row b has
// lengths[b] real positions (all T if lengths is nil): later positions
// attend to nothing, output zero and are not attended to.
//
// Causal attention works in blocks of query rows (block rows; 0 means
// causalBlock), each against the keys up to its last row only, which
// skips about half of the products of the upper triangle.
type attn struct {
	B, T, H, D int
	lengths    []int
	causal     bool
	block      int
	// slopes, when set, holds one ALiBi slope per head: the logit of
	// query i for key j gains −slopes[h]·|i−j| before the softmax (Press
	// et al. 2022; symmetric for an encoder, as MosaicBERT).
	slopes []float32
}

// causalBlock is the default number of query rows per causal block.
const causalBlock = 64

func (s attn) len(b int) int {
	if s.lengths == nil {
		return s.T
	}
	return s.lengths[b]
}

// blocks returns the number of query blocks of a sequence of L real
// positions and the end of block i: block i covers rows [end(i−1),
// end(i)) and, when causal, keys [0, end(i)).
func (s attn) blocks(L int) (n int, end func(i int) int) {
	bs := L
	if s.causal {
		bs = s.block
		if bs <= 0 {
			bs = causalBlock
		}
	}
	return (L + bs - 1) / bs, func(i int) int { return min((i+1)*bs, L) }
}

// noiseRNG is one worker's generator for attention noise, reseeded for
// each (sequence, head) so that the draws do not depend on threads.
type noiseRNG struct {
	src *rand.PCG
	r   *rand.Rand
}

func newNoiseRNGs(n int) []noiseRNG {
	rs := make([]noiseRNG, n)
	for i := range rs {
		rs[i].src = rand.NewPCG(0, 0)
		rs[i].r = rand.New(rs[i].src)
	}
	return rs
}

// forward sets att[B*H,T,T] to the attention probabilities (zero where
// masked) and out[B*T,D] to the heads' outputs. With noise > 0, Gaussian
// noise of that std is added to the scaled logits of (sequence b, head
// h) from a generator seeded with seeds[b*H+h], in (query, key) order
// over the unmasked logits (rngs holds one generator per worker).
func (s attn) forward(bl blas.Float32, out, att, qkv []float32, noise float32, seeds []uint64, rngs []noiseRNG, threads int) {
	B, T, H, D := s.B, s.T, s.H, s.D
	hs, D3 := D/H, 3*D
	scale := float32(1 / math.Sqrt(float64(hs)))
	parallel(min(threads, len(rngs)), B*H, func(w, lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			L := s.len(b)
			q := qkv[b*T*D3+h*hs:]
			k, v := q[D:], q[2*D:]
			S := att[bh*T*T : (bh+1)*T*T]
			o := out[b*T*D+h*hs:]
			var r *rand.Rand
			if noise > 0 {
				rngs[w].src.Seed(seeds[bh], 0x5eed)
				r = rngs[w].r
			}
			nb, end := s.blocks(L)
			for blk := 0; blk < nb; blk++ {
				r0, r1 := 0, end(blk)
				if blk > 0 {
					r0 = end(blk - 1)
				}
				keys := L
				if s.causal {
					keys = r1
				}
				bl.Sgemm(blas.NoTrans, blas.Trans, r1-r0, keys, hs, scale, q[r0*D3:], D3, k, D3, 0, S[r0*T:], T)
				for i := r0; i < r1; i++ {
					row := S[i*T : (i+1)*T]
					n := L
					if s.causal {
						n = i + 1
					}
					p := row[:n]
					if s.slopes != nil {
						m := s.slopes[h]
						for j := range p {
							p[j] -= m * float32(abs(i-j))
						}
					}
					if r != nil {
						for j := range p {
							p[j] += noise * float32(r.NormFloat64())
						}
					}
					softmax(p)
					clear(row[n:])
				}
				bl.Sgemm(blas.NoTrans, blas.NoTrans, r1-r0, hs, keys, 1, S[r0*T:], T, v, D3, 0, o[r0*D:], D)
			}
			clear(S[L*T:])
			for i := L; i < T; i++ {
				clear(o[i*D : i*D+hs])
			}
		}
	})
}

// backward sets dqkv[B*T,3D] to the gradient of the inputs given dout, the
// gradient of forward's output, and att, its probabilities. scratch holds
// T*T floats per worker. Key and value gradients collect over the query
// blocks, last block (which spans every key) first.
func (s attn) backward(bl blas.Float32, dqkv, dout, att, qkv, scratch []float32, threads int) {
	B, T, H, D := s.B, s.T, s.H, s.D
	hs, D3 := D/H, 3*D
	scale := float32(1 / math.Sqrt(float64(hs)))
	parallel(min(threads, len(scratch)/(T*T)), B*H, func(w, lo, hi int) {
		dP := scratch[w*T*T : (w+1)*T*T]
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			L := s.len(b)
			q := qkv[b*T*D3+h*hs:]
			k, v := q[D:], q[2*D:]
			dq := dqkv[b*T*D3+h*hs:]
			dk, dv := dq[D:], dq[2*D:]
			P := att[bh*T*T : (bh+1)*T*T]
			do := dout[b*T*D+h*hs:]
			nb, end := s.blocks(L)
			for blk := nb - 1; blk >= 0; blk-- {
				r0, r1 := 0, end(blk)
				if blk > 0 {
					r0 = end(blk - 1)
				}
				keys := L
				if s.causal {
					keys = r1
				}
				beta := float32(1)
				if blk == nb-1 {
					beta = 0
				}
				m := r1 - r0
				bl.Sgemm(blas.NoTrans, blas.Trans, m, keys, hs, 1, do[r0*D:], D, v, D3, 0, dP[r0*T:], T)
				bl.Sgemm(blas.Trans, blas.NoTrans, keys, hs, m, 1, P[r0*T:], T, do[r0*D:], D, beta, dv, D3)
				for i := r0; i < r1; i++ {
					n := L
					if s.causal {
						n = i + 1
					}
					p, g := P[i*T:i*T+n], dP[i*T:i*T+n]
					g = g[:len(p)]
					var sum float32
					for j, pj := range p {
						sum += pj * g[j]
					}
					for j, pj := range p {
						g[j] = pj * (g[j] - sum)
					}
					clear(dP[i*T+n : i*T+keys])
				}
				bl.Sgemm(blas.NoTrans, blas.NoTrans, m, hs, keys, scale, dP[r0*T:], T, k, D3, 0, dq[r0*D3:], D3)
				bl.Sgemm(blas.Trans, blas.NoTrans, keys, hs, m, scale, dP[r0*T:], T, q[r0*D3:], D3, beta, dk, D3)
			}
			for i := L; i < T; i++ {
				clear(dq[i*D3 : i*D3+hs])
				clear(dk[i*D3 : i*D3+hs])
				clear(dv[i*D3 : i*D3+hs])
			}
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
