package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"

	"gonum.org/v1/gonum/blas"
)

// Transformer is a BERT-style encoder or GPT-2-style decoder with
// hand-written forward and backward passes. It implements Model.
//
// Encoder: embeddings (token + position + token type 0) → LayerNorm →
// post-LN blocks (x ← LN(x + Attn(x)); x ← LN(x + MLP(x))) with
// bidirectional attention masked by Lengths; the MLM head (dense, GELU,
// LayerNorm, then the token embedding transposed plus an output bias) is
// evaluated only at positions with a target; classification reads the
// final state of position 0 ([CLS]).
//
// Decoder: embeddings (token + position) → pre-LN blocks (x ← x +
// Attn(LN(x)); x ← x + MLP(LN(x))) with causal attention → final
// LayerNorm → LM head tied to the token embedding; classification reads
// the final state of the last real token of each row.
//
// With Pooler, the classification state goes through dense + tanh first.
// GELU is the tanh approximation. There is no dropout. LayerNorm epsilon
// is 1e-12 (encoder, as BERT) or 1e-5 (decoder, as GPT-2).
//
// A Transformer is not safe for concurrent use: its activation buffers
// are reused from call to call.
type Transformer struct {
	cfg     Config
	bl      blas.Float32
	threads int
	eps     float32
	params  *Params
	grads   *Params
	w, g    weights
	rngs    []noiseRNG
	a       acts
}

var _ Model = (*Transformer)(nil)

// block holds one block's tensors (views into a Params buffer).
type block struct {
	ln1w, ln1b, qkvw, qkvb, projw, projb []float32
	ln2w, ln2b, fcw, fcb, fc2w, fc2b     []float32
}

// weights holds views of every tensor of a Params with a model's layout.
type weights struct {
	wte, wpe, wtt, lnew, lneb, lnfw, lnfb []float32
	blocks                                []block
	poolw, poolb                          []float32
	mlmw, mlmb, mlmlnw, mlmlnb, mlmbias   []float32
	clsw, clsb                            [][]float32
}

func bind(p *Params, c Config) weights {
	get := func(name string) []float32 {
		if _, ok := p.Lookup(name); !ok {
			return nil
		}
		return p.Get(name)
	}
	w := weights{
		wte: get("wte"), wpe: get("wpe"), wtt: get("wtt"),
		lnew: get("ln_e.weight"), lneb: get("ln_e.bias"),
		lnfw: get("ln_f.weight"), lnfb: get("ln_f.bias"),
		poolw: get("pooler.weight"), poolb: get("pooler.bias"),
		mlmw: get("mlm.dense.weight"), mlmb: get("mlm.dense.bias"),
		mlmlnw: get("mlm.ln.weight"), mlmlnb: get("mlm.ln.bias"), mlmbias: get("mlm.bias"),
	}
	if w.wtt != nil {
		w.wtt = w.wtt[:c.DModel] // every token is of type 0
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("h.%d.", l)
		w.blocks = append(w.blocks, block{
			ln1w: get(p + "ln_1.weight"), ln1b: get(p + "ln_1.bias"),
			qkvw: get(p + "attn.qkv.weight"), qkvb: get(p + "attn.qkv.bias"),
			projw: get(p + "attn.proj.weight"), projb: get(p + "attn.proj.bias"),
			ln2w: get(p + "ln_2.weight"), ln2b: get(p + "ln_2.bias"),
			fcw: get(p + "mlp.fc.weight"), fcb: get(p + "mlp.fc.bias"),
			fc2w: get(p + "mlp.proj.weight"), fc2b: get(p + "mlp.proj.bias"),
		})
	}
	for k := range c.Classes {
		w.clsw = append(w.clsw, get(fmt.Sprintf("cls.%d.weight", k)))
		w.clsb = append(w.clsb, get(fmt.Sprintf("cls.%d.bias", k)))
	}
	return w
}

// acts holds the activations of the last forward pass and the scratch of
// the backward pass. Buffers grow to the largest batch seen and are then
// reused; per-layer buffers are cut from one slice per kind.
type acts struct {
	B, T, N int
	// keep says whether every layer keeps its activations (for a
	// backward pass); without, all layers share the slot of layer 0 and
	// the residual stream alternates between two slots.
	keep bool

	emb, embMean, embRstd []float32 // encoder: embedding sum and its LayerNorm stats
	res                   []float32 // (L+1)·N·D: the input of each block, then the output
	ln1, mid, ln2         []float32 // L·N·D (see blockForward)
	ln1Mean, ln1Rstd      []float32 // L·N
	ln2Mean, ln2Rstd      []float32 // L·N
	qkv                   []float32 // L·N·3D
	att                   []float32 // L·B·H·T·T attention probabilities
	atty                  []float32 // L·N·D attention output before the projection
	fc, gel, sig          []float32 // L·N·F: MLP hidden before and after GELU, and GELU's σ(2u)
	lnf, lnfMean, lnfRstd []float32 // decoder: final LayerNorm
	seeds                 []uint64  // B·H attention-noise seeds of a layer

	// Predictions: one row per target (token objectives) or per
	// sequence (Classify).
	rows    []int     // the position n of each target (token objectives) or its row (Classify)
	tgt     []int32   // the target of each prediction row
	scale   []float32 // its weight in the batch loss, w_b / #targets
	loss    []float64 // its cross-entropy
	arg     []int32   // its argmax
	hg      []float32 // M·D the hidden states at the target positions
	mlmPre  []float32 // M·D encoder MLM head: dense output,
	mlmGel  []float32 // its GELU (mlmSig: σ(2u)),
	mlmSig  []float32
	mlmLn   []float32 // and LayerNorm
	mlmMu   []float32 // M
	mlmRs   []float32 // M
	logits  []float32 // M·V, or B·max(Classes) for Classify
	pin     []float32 // B·D classification state
	pool    []float32 // B·D classifier input: poolOut, or pin without a pooler
	poolOut []float32 // B·D pooler output

	// Backward scratch.
	dres, dln, datty []float32 // N·D
	dqkv             []float32 // N·3D
	dfc              []float32 // N·F
	dP               []float32 // threads·T·T
	dm1, dm2         []float32 // M·D
	dpool, dpin      []float32 // B·D
}

// gather sets rows and tgt to the index and value of every target ≥ 0
// (a position for token objectives, a row for Classify) and returns how
// many there are.
func (a *acts) gather(targets []int32) int {
	a.rows, a.tgt = a.rows[:0], a.tgt[:0]
	for i, t := range targets {
		if t >= 0 {
			a.rows = append(a.rows, i)
			a.tgt = append(a.tgt, t)
		}
	}
	return len(a.rows)
}

// NewTransformer builds a model of shape cfg with GPT-2's initialisation
// (weights N(0, 0.02²), biases 0, LayerNorm gains 1; in decoders the
// output projections of attention and MLP scaled by 1/√(2·Layers)),
// drawn deterministically from seed. Its matrix products use BLAS().
func NewTransformer(cfg Config, seed uint64) (*Transformer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Classes = append([]int(nil), cfg.Classes...)
	backbone, heads := cfg.layout()
	p := NewLayout(append(backbone, heads...))
	m := &Transformer{
		cfg:     cfg,
		bl:      BLAS(),
		threads: cfg.Threads,
		eps:     1e-5,
		params:  p,
		grads:   p.Like(),
	}
	if m.threads == 0 {
		m.threads = runtime.GOMAXPROCS(0)
	}
	if cfg.Arch == Encoder {
		m.eps = 1e-12
	}
	m.w = bind(m.params, cfg)
	m.g = bind(m.grads, cfg)
	m.rngs = newNoiseRNGs(m.threads)
	m.initParams(seed)
	return m, nil
}

// initStd is the standard deviation of tensor t's initial values; gains
// are set to 1 and everything else to 0 when it returns 0.
func (m *Transformer) initStd(t Tensor) float64 {
	switch t.Kind {
	case Matrix, Embedding:
		if m.cfg.Arch == Decoder && (strings.HasSuffix(t.Name, "attn.proj.weight") || strings.HasSuffix(t.Name, "mlp.proj.weight")) {
			return 0.02 / math.Sqrt(2*float64(m.cfg.Layers))
		}
		return 0.02
	}
	return 0
}

// initParams fills the parameters. Each chunk of 2¹⁶ elements of each
// tensor draws from its own stream, so the chunks fill in parallel and
// the values depend on the seed alone.
func (m *Transformer) initParams(seed uint64) {
	const chunk = 1 << 16
	type job struct{ t, lo, hi int }
	var jobs []job
	for i, t := range m.params.Tensors {
		for lo := 0; lo < t.Size(); lo += chunk {
			jobs = append(jobs, job{i, lo, min(lo+chunk, t.Size())})
		}
	}
	parallel(m.threads, len(jobs), func(_, lo, hi int) {
		for _, j := range jobs[lo:hi] {
			t := m.params.Tensors[j.t]
			x := m.params.Slice(t)[j.lo:j.hi]
			std := m.initStd(t)
			switch {
			case std > 0:
				r := rand.New(rand.NewPCG(seed, uint64(j.t)<<32|uint64(j.lo/chunk)))
				for i := range x {
					x[i] = float32(std * r.NormFloat64())
				}
			case t.Kind == Norm && strings.HasSuffix(t.Name, ".weight"):
				for i := range x {
					x[i] = 1
				}
			default:
				clear(x)
			}
		}
	})
}

// Name is the config name.
func (m *Transformer) Name() string { return m.cfg.Name }

// Config returns the model's config (Threads as given to NewTransformer).
func (m *Transformer) Config() Config {
	c := m.cfg
	c.Classes = append([]int(nil), c.Classes...)
	return c
}

// Params returns the parameters.
func (m *Transformer) Params() *Params { return m.params }

// Grads returns the gradients of the last ForwardBackward.
func (m *Transformer) Grads() *Params { return m.grads }

// check reports the first thing wrong with batch b for this model.
func (m *Transformer) check(b *Batch, opt ForwardOptions) error {
	c := m.cfg
	if b == nil {
		return errors.New("models: nil batch")
	}
	if b.B < 1 || b.T < 1 {
		return fmt.Errorf("models: %s: batch shape B=%d T=%d", c.Name, b.B, b.T)
	}
	if b.T > c.Ctx {
		return fmt.Errorf("models: %s: batch T=%d exceeds the context %d", c.Name, b.T, c.Ctx)
	}
	if b.Features != nil || len(b.Inputs) != b.B*b.T {
		return fmt.Errorf("models: %s: a Transformer needs B*T=%d token Inputs (got %d inputs, %d features)", c.Name, b.B*b.T, len(b.Inputs), len(b.Features))
	}
	for i, id := range b.Inputs {
		if id < 0 || int(id) >= c.Vocab {
			return fmt.Errorf("models: %s: Inputs[%d] (row %d) = %d outside the vocabulary [0,%d)", c.Name, i, i/b.T, id, c.Vocab)
		}
	}
	if b.Lengths != nil {
		if len(b.Lengths) != b.B {
			return fmt.Errorf("models: %s: %d Lengths for %d rows", c.Name, len(b.Lengths), b.B)
		}
		for r, n := range b.Lengths {
			if n < 1 || n > b.T {
				return fmt.Errorf("models: %s: Lengths[%d] = %d outside [1,%d]", c.Name, r, n, b.T)
			}
		}
	}
	if b.Weights != nil && len(b.Weights) != b.B {
		return fmt.Errorf("models: %s: %d Weights for %d rows", c.Name, len(b.Weights), b.B)
	}
	if (opt.EmbedNoise != 0 || opt.AttnNoise != 0) && opt.RNG == nil {
		return fmt.Errorf("models: %s: noise asked for without an RNG", c.Name)
	}
	if opt.EmbedNoise < 0 || opt.AttnNoise < 0 {
		return fmt.Errorf("models: %s: negative noise (EmbedNoise %g, AttnNoise %g)", c.Name, opt.EmbedNoise, opt.AttnNoise)
	}
	switch b.Objective {
	case NextToken, Masked:
		if b.Objective == NextToken && c.Arch != Decoder {
			return fmt.Errorf("models: %s: an encoder cannot predict the next token", c.Name)
		}
		if b.Objective == Masked && c.Arch != Encoder {
			return fmt.Errorf("models: %s: a decoder has no masked-token head", c.Name)
		}
		if len(b.Targets) != b.B*b.T {
			return fmt.Errorf("models: %s: %d Targets for B*T=%d positions", c.Name, len(b.Targets), b.B*b.T)
		}
		for i, t := range b.Targets {
			if t < -1 || int(t) >= c.Vocab {
				return fmt.Errorf("models: %s: Targets[%d] (row %d) = %d outside [-1,%d)", c.Name, i, i/b.T, t, c.Vocab)
			}
		}
	case Classify:
		if len(c.Classes) == 0 {
			return fmt.Errorf("models: %s: classification batch but the config has no Classes", c.Name)
		}
		if len(b.Targets) != b.B {
			return fmt.Errorf("models: %s: %d Targets for %d rows", c.Name, len(b.Targets), b.B)
		}
		if b.Task != nil && len(b.Task) != b.B {
			return fmt.Errorf("models: %s: %d Task entries for %d rows", c.Name, len(b.Task), b.B)
		}
		for r, t := range b.Targets {
			k := 0
			if b.Task != nil {
				k = b.Task[r]
			}
			if k < 0 || k >= len(c.Classes) {
				return fmt.Errorf("models: %s: Task[%d] = %d but the model has %d heads", c.Name, r, k, len(c.Classes))
			}
			if t < -1 || int(t) >= c.Classes[k] {
				return fmt.Errorf("models: %s: Targets[%d] = %d outside [-1,%d) for task %d", c.Name, r, t, c.Classes[k], k)
			}
		}
	default:
		return fmt.Errorf("models: %s: unknown objective %d", c.Name, int(b.Objective))
	}
	return nil
}

// checkTrain is check for the training losses (ForwardBackward, Losses),
// which also refuse Batch.Outputs: a Transformer has no output mask, and
// ignoring one would train on other outputs than the caller asked for.
func (m *Transformer) checkTrain(b *Batch, opt ForwardOptions) error {
	if err := m.check(b, opt); err != nil {
		return err
	}
	if b.Outputs != 0 {
		return fmt.Errorf("models: %s: batch has Outputs = %d, but a Transformer does not support an output mask (Outputs must be 0)", m.cfg.Name, b.Outputs)
	}
	return nil
}

// ForwardBackward computes the batch loss Σ_b w_b·ℓ_b / #targets and
// overwrites Grads with its gradient. Noise in opt is additive and treated
// as a constant by the backward pass.
func (m *Transformer) ForwardBackward(b *Batch, opt ForwardOptions) (float64, error) {
	if err := m.checkTrain(b, opt); err != nil {
		return 0, err
	}
	m.forward(b, opt, true)
	if m.predict(b, true) == 0 {
		return 0, fmt.Errorf("models: %s: batch has no targets", m.cfg.Name)
	}
	var loss float64
	for i, l := range m.a.loss {
		loss += float64(m.a.scale[i]) * l
	}
	m.zeroUnwritten(b)
	m.backward(b)
	return loss, nil
}

// Losses returns each row's mean cross-entropy over its targets (0 for a
// row without targets), without touching Grads.
func (m *Transformer) Losses(b *Batch, opt ForwardOptions) ([]float64, error) {
	if err := m.checkTrain(b, opt); err != nil {
		return nil, err
	}
	m.forward(b, opt, false)
	m.predict(b, false)
	sum := make([]float64, b.B)
	cnt := make([]int, b.B)
	for i, l := range m.a.loss {
		r := i
		if b.Objective != Classify {
			r = m.a.rows[i] / b.T
		}
		sum[r] += l
		cnt[r]++
	}
	for r := range sum {
		if cnt[r] > 0 {
			sum[r] /= float64(cnt[r])
		}
	}
	return sum, nil
}

// Evaluate scores a batch with a clean forward pass: top-1 hits and summed
// cross-entropy over the targets.
func (m *Transformer) Evaluate(b *Batch) (Score, error) {
	if err := m.check(b, ForwardOptions{}); err != nil {
		return Score{}, err
	}
	m.forward(b, ForwardOptions{}, false)
	m.predict(b, false)
	var s Score
	for i, l := range m.a.loss {
		s.Total++
		s.LossSum += l
		if m.a.arg[i] == m.a.tgt[i] {
			s.Correct++
		}
	}
	return s, nil
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
	sa := attn{B: B, T: T, H: H, D: D, lengths: b.Lengths, causal: c.Arch == Decoder}
	for l := 0; l < L; l++ {
		if opt.AttnNoise > 0 {
			for i := range a.seeds {
				a.seeds[i] = opt.RNG.Uint64()
			}
		}
		m.blockForward(l, sa, opt.AttnNoise)
	}
	if c.Arch == Decoder {
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
// ln2 = ln1 + FC₂(GELU(FC₁(ln1))); out = LN₂(ln2).
func (m *Transformer) blockForward(l int, sa attn, noise float32) {
	c, bl, w := m.cfg, m.bl, &m.w.blocks[l]
	N, D, F := m.a.N, c.DModel, c.DFF
	x := m.layer(l)
	pre := c.Arch == Decoder
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
	geluForward(x.gel, x.sig, x.fc, w.fcb, N, F, m.threads)
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
	if c.Arch == Decoder {
		// out = mid + FC₂(GELU(FC₁(LN₂(mid)))).
		linearBackward(bl, a.dfc, g.fc2w, g.fc2b, dres, x.gel, w.fc2w, N, F, D, 0, th)
		geluBackward(a.dfc, x.fc, x.sig, th)
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
	geluBackward(a.dfc, x.fc, x.sig, th)
	linearBackward(bl, dln, g.fcw, g.fcb, a.dfc, x.ln1, w.fcw, N, D, F, 1, th)
	// ln1 = LN₁(mid), mid = xin + Proj(Attn(QKV(xin))).
	layerNormBackward(dres, g.ln1w, g.ln1b, dln, x.mid, x.ln1Mean, x.ln1Rstd, w.ln1w, N, D, false, th)
	linearBackward(bl, a.datty, g.projw, g.projb, dres, x.atty, w.projw, N, D, D, 0, th)
	sa.backward(bl, a.dqkv, a.datty, x.att, x.qkv, a.dP, th)
	linearBackward(bl, dres, g.qkvw, g.qkvb, a.dqkv, x.xin, w.qkvw, N, D, 3*D, 1, th)
}

// hidden is the final state of every position: the decoder's final
// LayerNorm output, or the encoder's last block output.
func (m *Transformer) hidden() []float32 {
	a := &m.a
	if m.cfg.Arch == Decoder {
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

// predict computes the logits of b's targets and their cross-entropies
// (in m.a.loss, m.a.arg); with grad, the logits are replaced by the
// gradient of the batch loss. It returns the number of targets.
func (m *Transformer) predict(b *Batch, grad bool) int {
	if b.Objective == Classify {
		return m.classify(b, grad)
	}
	c, a := m.cfg, &m.a
	D, V, N := c.DModel, c.Vocab, a.N
	M := a.gather(b.Targets)
	if M == 0 {
		a.loss, a.arg, a.scale = a.loss[:0], a.arg[:0], a.scale[:0]
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
		geluForward(a.mlmGel, a.mlmSig, a.mlmPre, m.w.mlmb, M, D, m.threads)
		layerNormForward(a.mlmLn, a.mlmMu, a.mlmRs, a.mlmGel, m.w.mlmlnw, m.w.mlmlnb, M, D, m.eps, m.threads)
		z = a.mlmLn
	}
	linearForward(m.bl, a.logits, z, m.w.wte, m.w.mlmbias, M, D, V)
	m.xentRows(a.logits, V, M, grad)
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
		l, arg := xent(z, int(a.tgt[i]), a.scale[i], grad)
		a.loss[i], a.arg[i] = l, int32(arg)
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
