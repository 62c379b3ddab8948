package models

// layer cuts block l's activations out of the per-kind buffers.
type layer struct {
	xin, ln1, mid, ln2, atty, out []float32 // N·D
	ln1Mean, ln1Rstd              []float32 // N
	ln2Mean, ln2Rstd              []float32
	qkv                           []float32 // N·3D
	att                           []float32 // B·H·T·T
	fc, gel, sig                  []float32 // N·F
}

func (m *Transformer) layer(l int) layer {
	a, c := &m.a, m.cfg
	N, D, F := a.N, c.DModel, c.DFF
	s := 0
	if a.keep {
		s = l
	}
	nd := func(b []float32, w int) []float32 { return b[s*N*w : (s+1)*N*w] }
	BHTT := a.B * c.Heads * a.T * a.T
	return layer{
		xin: m.resid(l), out: m.resid(l + 1),
		ln1: nd(a.ln1, D), mid: nd(a.mid, D), ln2: nd(a.ln2, D), atty: nd(a.atty, D),
		ln1Mean: nd(a.ln1Mean, 1), ln1Rstd: nd(a.ln1Rstd, 1),
		ln2Mean: nd(a.ln2Mean, 1), ln2Rstd: nd(a.ln2Rstd, 1),
		qkv: nd(a.qkv, 3*D), att: a.att[s*BHTT : (s+1)*BHTT],
		fc: nd(a.fc, F), gel: nd(a.gel, F), sig: nd(a.sig, F),
	}
}

// blockForward runs block l.
//
// Decoder (pre-LN): ln1 = LN₁(xin); mid = xin + Proj(Attn(QKV(ln1)));
// ln2 = LN₂(mid); out = mid + FC₂(GELU(FC₁(ln2))).
//
// Encoder (post-LN): mid = xin + Proj(Attn(QKV(xin))); ln1 = LN₁(mid);
// ln2 = ln1 + FC₂(GELU(FC₁(ln1))); out = LN₂(ln2). An encoder with
// Config.PreLN takes the decoder's path (with bidirectional attention).
func (m *Transformer) blockForward(l int, sa attn, noise float32) {
	c, bl, w := m.cfg, m.bl, &m.w.blocks[l]
	N, D, F := m.a.N, c.DModel, c.DFF
	x := m.layer(l)
	pre := c.preLN()
	attIn := x.xin
	if pre {
		layerNormForward(x.ln1, x.ln1Mean, x.ln1Rstd, x.xin, w.ln1w, w.ln1b, N, D, m.eps, m.threads)
		attIn = x.ln1
	}
	linearForward(bl, x.qkv, attIn, w.qkvw, w.qkvb, N, D, 3*D)
	sa.forward(bl, x.atty, x.att, x.qkv, noise, m.a.seeds, m.rngs, m.threads)
	linearResidual(bl, x.mid, x.xin, x.atty, w.projw, w.projb, N, D, D, m.threads)
	mlpIn, mlpOut := x.ln2, x.out
	if pre {
		layerNormForward(x.ln2, x.ln2Mean, x.ln2Rstd, x.mid, w.ln2w, w.ln2b, N, D, m.eps, m.threads)
	} else {
		layerNormForward(x.ln1, x.ln1Mean, x.ln1Rstd, x.mid, w.ln1w, w.ln1b, N, D, m.eps, m.threads)
		mlpIn, mlpOut = x.ln1, x.ln2
	}
	linearForward(bl, x.fc, mlpIn, w.fcw, nil, N, D, F)
	geluForward(m.cfg.Act, x.gel, x.sig, x.fc, w.fcb, N, F, m.threads)
	mlpRes := x.mid
	if !pre {
		mlpRes = x.ln1
	}
	linearResidual(bl, mlpOut, mlpRes, x.gel, w.fc2w, w.fc2b, N, F, D, m.threads)
	if !pre {
		layerNormForward(x.out, x.ln2Mean, x.ln2Rstd, x.ln2, w.ln2w, w.ln2b, N, D, m.eps, m.threads)
	}
}

// blockBackward propagates through block l: on entry m.a.dres holds the
// gradient of the block's output, on return that of its input.
func (m *Transformer) blockBackward(l int, sa attn) {
	c, bl, w, g := m.cfg, m.bl, &m.w.blocks[l], &m.g.blocks[l]
	a := &m.a
	N, D, F, th := a.N, c.DModel, c.DFF, m.threads
	x := m.layer(l)
	dres, dln := a.dres, a.dln
	if c.preLN() {
		// out = mid + FC₂(GELU(FC₁(LN₂(mid)))).
		linearBackward(bl, a.dfc, g.fc2w, g.fc2b, dres, x.gel, w.fc2w, N, F, D, 0, th)
		geluBackward(m.cfg.Act, a.dfc, x.fc, x.sig, th)
		linearBackward(bl, dln, g.fcw, g.fcb, a.dfc, x.ln2, w.fcw, N, D, F, 0, th)
		layerNormBackward(dres, g.ln2w, g.ln2b, dln, x.mid, x.ln2Mean, x.ln2Rstd, w.ln2w, N, D, true, th)
		// mid = xin + Proj(Attn(QKV(LN₁(xin)))).
		linearBackward(bl, a.datty, g.projw, g.projb, dres, x.atty, w.projw, N, D, D, 0, th)
		sa.backward(bl, a.dqkv, a.datty, x.att, x.qkv, a.dP, th)
		linearBackward(bl, dln, g.qkvw, g.qkvb, a.dqkv, x.ln1, w.qkvw, N, D, 3*D, 0, th)
		layerNormBackward(dres, g.ln1w, g.ln1b, dln, x.xin, x.ln1Mean, x.ln1Rstd, w.ln1w, N, D, true, th)
		return
	}
	// out = LN₂(ln2), ln2 = ln1 + FC₂(GELU(FC₁(ln1))).
	layerNormBackward(dln, g.ln2w, g.ln2b, dres, x.ln2, x.ln2Mean, x.ln2Rstd, w.ln2w, N, D, false, th)
	linearBackward(bl, a.dfc, g.fc2w, g.fc2b, dln, x.gel, w.fc2w, N, F, D, 0, th)
	geluBackward(m.cfg.Act, a.dfc, x.fc, x.sig, th)
	linearBackward(bl, dln, g.fcw, g.fcb, a.dfc, x.ln1, w.fcw, N, D, F, 1, th)
	// ln1 = LN₁(mid), mid = xin + Proj(Attn(QKV(xin))).
	layerNormBackward(dres, g.ln1w, g.ln1b, dln, x.mid, x.ln1Mean, x.ln1Rstd, w.ln1w, N, D, false, th)
	linearBackward(bl, a.datty, g.projw, g.projb, dres, x.atty, w.projw, N, D, D, 0, th)
	sa.backward(bl, a.dqkv, a.datty, x.att, x.qkv, a.dP, th)
	linearBackward(bl, dres, g.qkvw, g.qkvb, a.dqkv, x.xin, w.qkvw, N, D, 3*D, 1, th)
}
