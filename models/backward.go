package models

// backward computes the gradient of the batch loss into m.grads (which
// must be zero) from the activations of forward and the logit gradients
// left by predict.
func (m *Transformer) backward(b *Batch) {
	c, a, w, g := m.cfg, &m.a, &m.w, &m.g
	B, T, D, F, L, N, th := b.B, b.T, c.DModel, c.DFF, c.Layers, a.N, m.threads
	a.dres = grow(a.dres, N*D)
	a.dln = grow(a.dln, N*D)
	a.datty = grow(a.datty, N*D)
	a.dqkv = grow(a.dqkv, N*3*D)
	a.dfc = grow(a.dfc, N*F)
	a.dP = grow(a.dP, th*T*T)

	// dh: the gradient of the final hidden states.
	dh := a.dres
	if c.Arch == Decoder {
		dh = a.dln
	}
	clear(dh)
	if b.Objective == Classify {
		m.classifyBackward(b, dh)
	} else {
		m.tokenBackward(dh)
	}
	if c.Arch == Decoder {
		layerNormBackward(a.dres, g.lnfw, g.lnfb, dh, m.resid(L), a.lnfMean, a.lnfRstd, w.lnfw, N, D, false, th)
	}
	sa := attn{B: B, T: T, H: c.Heads, D: D, lengths: b.Lengths, causal: c.Arch == Decoder}
	for l := L - 1; l >= 0; l-- {
		m.blockBackward(l, sa)
	}
	dx := a.dres
	if c.Arch == Encoder {
		layerNormBackward(a.dln, g.lnew, g.lneb, a.dres, a.emb, a.embMean, a.embRstd, w.lnew, N, D, false, th)
		dx = a.dln
	}
	embedBackward(g.wte, g.wpe, g.wtt, dx, b.Inputs, B, T, D, th)
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
		geluBackward(a.dm2, a.mlmPre, a.mlmSig, th)
		linearBackward(m.bl, dz, g.mlmw, g.mlmb, a.dm2, hg, w.mlmw, M, D, D, 0, th)
	}
	if &dz[0] != &dh[0] {
		for i, n := range a.rows {
			copy(dh[n*D:(n+1)*D], dz[i*D:(i+1)*D])
		}
	}
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
