package models

import (
	"math"
	"math/rand/v2"
)

// forward runs the embeddings and the blocks (and the decoder's final
// LayerNorm) on b; with keep, it keeps every activation the backward pass
// needs, otherwise only those of one layer at a time.
func (m *Transformer) forward(b *Batch, opt ForwardOptions, keep bool) {
	c, a := m.cfg, &m.a
	B, T, D, F, H, L := b.B, b.T, c.DModel, c.DFF, c.Heads, c.Layers
	N := B * T
	a.B, a.T, a.N, a.keep = B, T, N, keep
	slots := 1
	if keep {
		slots = L
	}
	a.res = grow(a.res, (slots+1)*N*D)
	a.ln1 = grow(a.ln1, slots*N*D)
	a.mid = grow(a.mid, slots*N*D)
	a.ln2 = grow(a.ln2, slots*N*D)
	a.atty = grow(a.atty, slots*N*D)
	a.ln1Mean = grow(a.ln1Mean, slots*N)
	a.ln1Rstd = grow(a.ln1Rstd, slots*N)
	a.ln2Mean = grow(a.ln2Mean, slots*N)
	a.ln2Rstd = grow(a.ln2Rstd, slots*N)
	a.qkv = grow(a.qkv, slots*N*3*D)
	a.att = grow(a.att, slots*B*H*T*T)
	a.fc = grow(a.fc, slots*N*F)
	a.gel = grow(a.gel, slots*N*F)
	a.sig = grow(a.sig, slots*N*F)
	a.seeds = grow(a.seeds, B*H)

	x0 := a.res[:N*D]
	h := x0
	if c.Arch == Encoder {
		a.emb = grow(a.emb, N*D)
		a.embMean = grow(a.embMean, N)
		a.embRstd = grow(a.embRstd, N)
		h = a.emb
	}
	embedForward(h, b.Inputs, m.w.wte, m.w.wpe, m.w.wtt, B, T, D, m.threads)
	if opt.EmbedNoise > 0 {
		embedNoise(h, N, D, opt.EmbedNoise, opt.RNG)
	}
	if c.Arch == Encoder {
		layerNormForward(x0, a.embMean, a.embRstd, h, m.w.lnew, m.w.lneb, N, D, m.eps, m.threads)
	}
	sa := attn{B: B, T: T, H: H, D: D, lengths: b.Lengths, causal: c.Arch == Decoder, slopes: m.slopes}
	for l := 0; l < L; l++ {
		if opt.AttnNoise > 0 {
			for i := range a.seeds {
				a.seeds[i] = opt.RNG.Uint64()
			}
		}
		m.blockForward(l, sa, opt.AttnNoise)
	}
	if c.preLN() {
		a.lnf = grow(a.lnf, N*D)
		a.lnfMean = grow(a.lnfMean, N)
		a.lnfRstd = grow(a.lnfRstd, N)
		layerNormForward(a.lnf, a.lnfMean, a.lnfRstd, m.resid(L), m.w.lnfw, m.w.lnfb, N, D, m.eps, m.threads)
	}
}

// embedNoise adds Gaussian noise of std sigma·RMS(row) to each row of
// h[N,D], drawn in order from r.
func embedNoise(h []float32, N, D int, sigma float32, r *rand.Rand) {
	for n := 0; n < N; n++ {
		x := h[n*D : (n+1)*D]
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		std := float64(sigma) * math.Sqrt(ss/float64(D))
		for i := range x {
			x[i] += float32(std * r.NormFloat64())
		}
	}
}

// hidden is the final state of every position: the final LayerNorm's
// output (pre-LN), or the post-LN encoder's last block output.
func (m *Transformer) hidden() []float32 {
	a := &m.a
	if m.cfg.preLN() {
		return a.lnf[:a.N*m.cfg.DModel]
	}
	return m.resid(m.cfg.Layers)
}

// resid is the residual stream entering block l (l = Layers: leaving the
// last block).
func (m *Transformer) resid(l int) []float32 {
	a := &m.a
	if !a.keep {
		l %= 2
	}
	nd := a.N * m.cfg.DModel
	return a.res[l*nd : (l+1)*nd]
}

// zeroUnwritten zeroes the gradients that the backward pass of b adds
// to rather than writes: the position and type embeddings (scatter-added),
// the classifiers (accumulated over rows), the token embedding unless an
// LM or MLM head writes it first, and the heads b does not use.
func (m *Transformer) zeroUnwritten(b *Batch) {
	g := &m.g
	clear(g.wpe)
	if _, ok := m.grads.Lookup("wtt"); ok {
		clear(m.grads.Get("wtt")) // all types, though only type 0 is used
	}
	for k := range g.clsw {
		clear(g.clsw[k])
		clear(g.clsb[k])
	}
	if b.Objective == Classify {
		clear(g.wte)
		clear(g.mlmw)
		clear(g.mlmb)
		clear(g.mlmlnw)
		clear(g.mlmlnb)
		clear(g.mlmbias)
	} else {
		clear(g.poolw)
		clear(g.poolb)
	}
}

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
	if c.preLN() {
		dh = a.dln
	}
	clear(dh)
	if b.Objective == Classify {
		m.classifyBackward(b, dh)
	} else {
		m.tokenBackward(dh)
	}
	if c.preLN() {
		layerNormBackward(a.dres, g.lnfw, g.lnfb, dh, m.resid(L), a.lnfMean, a.lnfRstd, w.lnfw, N, D, false, th)
	}
	// The ALiBi biases are constants: backward needs only the
	// probabilities forward kept, not the slopes.
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
