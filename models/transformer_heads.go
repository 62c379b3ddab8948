package models

import (
	"math"
)

// predict computes the logits of b's targets and their cross-entropies
// (in m.a.loss, m.a.arg); with grad, the logits are replaced by the
// gradient of the batch loss. It returns the number of targets.
func (m *Transformer) predict(b *Batch, grad bool) int {
	if b.Objective == Classify {
		return m.classify(b, grad)
	}
	M := m.tokenLogits(b)
	if M == 0 {
		a := &m.a
		a.loss, a.arg, a.scale = a.loss[:0], a.arg[:0], a.scale[:0]
		return 0
	}
	if !m.raw {
		m.xentRows(m.a.logits, m.cfg.Vocab, M, grad)
	}
	return M
}

// tokenLogits sets a.rows, a.tgt and a.scale from b's targets and
// a.logits[M,V] to the LM or MLM head's logits at the M target
// positions, and returns M.
func (m *Transformer) tokenLogits(b *Batch) int {
	c, a := m.cfg, &m.a
	D, V, N := c.DModel, c.Vocab, a.N
	M := a.gather(b.Targets)
	if M == 0 {
		return 0
	}
	a.scale = grow(a.scale, M)
	for i, n := range a.rows {
		w := float32(1)
		if b.Weights != nil {
			w = b.Weights[n/b.T]
		}
		a.scale[i] = w / float32(M)
	}
	hid := m.hidden()
	hg := hid
	if M < N {
		a.hg = grow(a.hg, M*D)
		hg = a.hg
		for i, n := range a.rows {
			copy(hg[i*D:(i+1)*D], hid[n*D:(n+1)*D])
		}
	}
	a.logits = grow(a.logits, M*V)
	z := hg
	if c.Arch == Encoder {
		a.mlmPre = grow(a.mlmPre, M*D)
		a.mlmGel = grow(a.mlmGel, M*D)
		a.mlmSig = grow(a.mlmSig, M*D)
		a.mlmLn = grow(a.mlmLn, M*D)
		a.mlmMu = grow(a.mlmMu, M)
		a.mlmRs = grow(a.mlmRs, M)
		linearForward(m.bl, a.mlmPre, hg, m.w.mlmw, nil, M, D, D)
		geluForward(m.cfg.Act, a.mlmGel, a.mlmSig, a.mlmPre, m.w.mlmb, M, D, m.threads)
		layerNormForward(a.mlmLn, a.mlmMu, a.mlmRs, a.mlmGel, m.w.mlmlnw, m.w.mlmlnb, M, D, m.eps, m.threads)
		z = a.mlmLn
	}
	linearForward(m.bl, a.logits, z, m.w.wte, m.w.mlmbias, M, D, V)
	return M
}

// xentRows runs xent on the M rows of logits[M,V] against a.tgt, filling
// a.loss and a.arg (and the gradient, with grad).
func (m *Transformer) xentRows(logits []float32, V, M int, grad bool) {
	a := &m.a
	a.loss = grow(a.loss, M)
	a.arg = grow(a.arg, M)
	parallel(split(m.threads, 8*M*V), M, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			l, k := xent(logits[i*V:(i+1)*V], int(a.tgt[i]), a.scale[i], grad)
			a.loss[i], a.arg[i] = l, int32(k)
		}
	})
}

// tokenBackward propagates the logit gradients of a token objective to
// the head's parameters and to dh, the gradient of the final hidden
// states (zero on entry).
func (m *Transformer) tokenBackward(dh []float32) {
	c, a, w, g, th := m.cfg, &m.a, &m.w, &m.g, m.threads
	D, V, N := c.DModel, c.Vocab, a.N
	M := len(a.rows)
	dlogits := a.logits[:M*V]
	hg := m.hidden()
	if M < N {
		hg = a.hg[:M*D]
	}
	z, dz := hg, dh
	if c.Arch == Encoder || M < N {
		a.dm1 = grow(a.dm1, M*D)
		dz = a.dm1
	}
	if c.Arch == Encoder {
		z = a.mlmLn
	}
	linearBackward(m.bl, dz, g.wte, g.mlmbias, dlogits, z, w.wte, M, D, V, 0, th)
	if c.Arch == Encoder {
		a.dm2 = grow(a.dm2, M*D)
		layerNormBackward(a.dm2, g.mlmlnw, g.mlmlnb, dz, a.mlmGel, a.mlmMu, a.mlmRs, w.mlmlnw, M, D, false, th)
		geluBackward(m.cfg.Act, a.dm2, a.mlmPre, a.mlmSig, th)
		linearBackward(m.bl, dz, g.mlmw, g.mlmb, a.dm2, hg, w.mlmw, M, D, D, 0, th)
	}
	if &dz[0] != &dh[0] {
		for i, n := range a.rows {
			copy(dh[n*D:(n+1)*D], dz[i*D:(i+1)*D])
		}
	}
}

// classPos is the position whose final state classifies row r.
func (m *Transformer) classPos(b *Batch, r int) int {
	if m.cfg.Arch == Encoder {
		return 0
	}
	if b.Lengths != nil {
		return b.Lengths[r] - 1
	}
	return b.T - 1
}

func task(b *Batch, r int) int {
	if b.Task == nil {
		return 0
	}
	return b.Task[r]
}

// classify is predict for Classify batches: the pooled state of each row
// through the head of the row's task.
func (m *Transformer) classify(b *Batch, grad bool) int {
	c, a := m.cfg, &m.a
	B, D := b.B, c.DModel
	hid := m.hidden()
	a.pin = grow(a.pin, B*D)
	for r := 0; r < B; r++ {
		n := r*b.T + m.classPos(b, r)
		copy(a.pin[r*D:(r+1)*D], hid[n*D:(n+1)*D])
	}
	a.pool = a.pin
	if c.Pooler {
		a.poolOut = grow(a.poolOut, B*D)
		a.pool = a.poolOut
		linearForward(m.bl, a.pool, a.pin, m.w.poolw, m.w.poolb, B, D, D)
		for i, v := range a.pool {
			a.pool[i] = float32(math.Tanh(float64(v)))
		}
	}
	M := a.gather(b.Targets)
	a.scale = grow(a.scale, M)
	a.loss = grow(a.loss, M)
	a.arg = grow(a.arg, M)
	cmax := m.cmax()
	a.logits = grow(a.logits, M*cmax)
	for i, r := range a.rows {
		w := float32(1)
		if b.Weights != nil {
			w = b.Weights[r]
		}
		a.scale[i] = w / float32(M)
		k := task(b, r)
		C := c.Classes[k]
		z := a.logits[i*cmax : i*cmax+C]
		p := a.pool[r*D : (r+1)*D]
		W, bias := m.w.clsw[k], m.w.clsb[k]
		for j := range z {
			wr := W[j*D : (j+1)*D]
			s := bias[j]
			for d, v := range p {
				s += wr[d] * v
			}
			z[j] = s
		}
		if !m.raw {
			l, arg := xent(z, int(a.tgt[i]), a.scale[i], grad)
			a.loss[i], a.arg[i] = l, int32(arg)
		}
	}
	return M
}

// cmax is the largest number of classes of a head.
func (m *Transformer) cmax() int {
	n := 0
	for _, c := range m.cfg.Classes {
		n = max(n, c)
	}
	return n
}

// classifyBackward propagates the logit gradients of a Classify batch to
// the heads, the pooler and dh (zero on entry).
func (m *Transformer) classifyBackward(b *Batch, dh []float32) {
	c, a, w, g := m.cfg, &m.a, &m.w, &m.g
	B, D, cmax := b.B, c.DModel, m.cmax()
	a.dpool = grow(a.dpool, B*D)
	clear(a.dpool)
	for i, r := range a.rows {
		k := task(b, r)
		dz := a.logits[i*cmax : i*cmax+c.Classes[k]]
		p, dp := a.pool[r*D:(r+1)*D], a.dpool[r*D:(r+1)*D]
		W, gW, gb := w.clsw[k], g.clsw[k], g.clsb[k]
		for j, dzj := range dz {
			gb[j] += dzj
			wr, gr := W[j*D:(j+1)*D], gW[j*D:(j+1)*D]
			wr, gr = wr[:len(p)], gr[:len(p)]
			for d, v := range p {
				gr[d] += dzj * v
				dp[d] += dzj * wr[d]
			}
		}
	}
	dpin := a.dpool
	if c.Pooler {
		for i, v := range a.poolOut[:B*D] {
			a.dpool[i] *= 1 - v*v
		}
		a.dpin = grow(a.dpin, B*D)
		linearBackward(m.bl, a.dpin, g.poolw, g.poolb, a.dpool, a.pin, w.poolw, B, D, D, 0, m.threads)
		dpin = a.dpin
	}
	for r := 0; r < B; r++ {
		n := r*b.T + m.classPos(b, r)
		d, s := dh[n*D:(n+1)*D], dpin[r*D:(r+1)*D]
		for i, v := range s {
			d[i] += v
		}
	}
}
