package models

import (
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
// final state of position 0 ([CLS]). Config.PreLN gives an encoder the
// decoder's pre-LN blocks and final LayerNorm instead.
//
// Decoder: embeddings (token + position) → pre-LN blocks (x ← x +
// Attn(LN(x)); x ← x + MLP(LN(x))) with causal attention → final
// LayerNorm → LM head tied to the token embedding; classification reads
// the final state of the last real token of each row.
//
// With Pooler, the classification state goes through dense + tanh first.
// GELU is the tanh approximation or the exact erf form (Config.Act).
// There is no dropout. LayerNorm ε is Config.NormEps: by default 1e-12
// (encoder, as BERT) or 1e-5 (decoder, as GPT-2).
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
	// raw makes predict leave the logits as they are, without the
	// cross-entropy (ForwardOutputs).
	raw bool
	// slopes are the ALiBi slopes of the heads (nil without ALiBi),
	// computed once here rather than on every forward pass.
	slopes []float32
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
	dout    []float32 // ForwardOutputs' logit gradients, the layout of logits
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
		eps:     cfg.NormEps(),
		params:  p,
		grads:   p.Like(),
		slopes:  cfg.alibiSlopes(),
	}
	if m.threads == 0 {
		m.threads = runtime.GOMAXPROCS(0)
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
		if m.cfg.preLN() && (strings.HasSuffix(t.Name, "attn.proj.weight") || strings.HasSuffix(t.Name, "mlp.proj.weight")) {
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
		r := m.a.rows[i] // the row (Classify) or position of target i
		if b.Objective != Classify {
			r /= b.T
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
