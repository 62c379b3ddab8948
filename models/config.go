package models

import (
	"fmt"
	"math"
	"strings"
)

// Arch is a Transformer architecture.
type Arch int

const (
	// Encoder is a BERT-style encoder: post-LN, bidirectional attention
	// with a padding mask, an MLM head tied to the token embedding and
	// [CLS] classification heads.
	Encoder Arch = iota
	// Decoder is a GPT-2-style decoder: pre-LN, causal attention, a final
	// LayerNorm and an LM head tied to the token embedding.
	Decoder
)

// Activation is the nonlinearity of a Transformer's MLPs and of the
// encoder's MLM head.
type Activation int

const (
	// GELUTanh is the tanh approximation ½x(1 + tanh(√(2/π)(x +
	// 0.044715x³))): GPT-2's "gelu_new", and what every sleepbench base
	// checkpoint was trained with.
	GELUTanh Activation = iota
	// GELUErf is the exact GELU x·Φ(x) = ½x(1 + erf(x/√2)): BERT's
	// "gelu".
	GELUErf
)

func (a Activation) String() string {
	switch a {
	case GELUTanh:
		return "gelu-tanh"
	case GELUErf:
		return "gelu-erf"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

func (a Arch) String() string {
	switch a {
	case Encoder:
		return "encoder"
	case Decoder:
		return "decoder"
	}
	return fmt.Sprintf("Arch(%d)", int(a))
}

// Config is the shape of a Transformer.
type Config struct {
	Name string
	Arch Arch
	// Layers is the number of blocks; DModel the width of the residual
	// stream; Heads the attention heads (DModel must be a multiple);
	// DFF the hidden width of the MLP; Ctx the longest sequence; Vocab
	// the number of token ids.
	Layers, DModel, Heads, DFF, Ctx, Vocab int
	// TypeVocab is the number of token-type embeddings (2 for BERT; 0 for
	// decoders). Every token uses type 0.
	TypeVocab int
	// Pooler adds BERT's pooler (dense + tanh on the [CLS] state, or on
	// the last real token for a decoder) in front of the classification
	// heads.
	Pooler bool
	// Act is the MLP (and MLM head) nonlinearity; the zero value is
	// GELUTanh.
	Act Activation
	// Eps is the LayerNorm ε; 0 means the architecture's default, 1e-12
	// for an Encoder (as BERT) and 1e-5 for a Decoder (as GPT-2).
	Eps float32
	// PreLN makes an encoder's blocks pre-LN, as the decoder's are
	// (x ← x + Attn(LN₁(x)); x ← x + MLP(LN₂(x))), with a final LayerNorm
	// after the last block; BERT's post-LN blocks otherwise. Decoders are
	// always pre-LN.
	PreLN bool
	// ALiBi adds a fixed bias −m_h·|i−j| to head h's attention logits
	// (Press et al. 2022, "Train Short, Test Long"), with slopes
	// m_h = 2^(−8(h+1)/Heads); symmetric in i and j for an encoder, as in
	// MosaicBERT (Portes et al. 2023). It has no parameters; the learned
	// position embeddings stay. Hugging Face's BERT and GPT-2 have no
	// such bias (false).
	ALiBi bool
	// Classes holds the number of classes of each task's classification
	// head (task-incremental); it may be empty.
	Classes []int
	// Threads is the number of goroutines for the non-BLAS kernels;
	// 0 means runtime.GOMAXPROCS(0).
	Threads int
}

// alibiSlopes returns the per-head ALiBi slopes, or nil without ALiBi.
func (c Config) alibiSlopes() []float32 {
	if !c.ALiBi {
		return nil
	}
	s := make([]float32, c.Heads)
	for h := range s {
		s[h] = float32(math.Exp2(-8 * float64(h+1) / float64(c.Heads)))
	}
	return s
}

// AttentionBias names the attention's position bias as a checkpoint's
// metadata records it (key "attention_bias"): "alibi" or "none".
func (c Config) AttentionBias() string {
	if c.ALiBi {
		return "alibi"
	}
	return "none"
}

// CheckAttentionBias refuses a checkpoint whose metadata shows it was
// trained with another attention bias than c's: the tensors of a model
// with and without ALiBi have the same names and shapes, so only the
// metadata can tell them apart. A file that names a model (one sleepbench
// made) but no attention_bias predates the key and was trained without
// ALiBi; a file with neither key (a foreign checkpoint) is not refused.
func CheckAttentionBias(c Config, path string, meta map[string]string) error {
	got := meta["attention_bias"]
	if got == "" && meta["model"] != "" {
		got = "none"
	}
	if got != "" && got != c.AttentionBias() {
		return fmt.Errorf("checkpoint %s was trained with attention bias %q, but model %s uses %q (Config.ALiBi); rebuild it with make pretrain", path, got, c.Name, c.AttentionBias())
	}
	return nil
}

// preLN reports whether the blocks are pre-LN (and a final LayerNorm
// follows the last one).
func (c Config) preLN() bool { return c.Arch == Decoder || c.PreLN }

// Configs returns the built-in configs, largest first as in DESIGN.md.
func Configs() []Config {
	// bert-base has BERT's exact GELU, so that published checkpoints
	// load with their own numerics (hf.go); bert-mini keeps the tanh
	// form its committed base checkpoint was pretrained with. bert-mini
	// is pre-LN with ALiBi biases beside its learned positions: with
	// absolute positions alone it stalled, in minutes of CPU pretraining,
	// on the plateau where a masked LM predicts no better than a constant
	// at [MASK] (models/base/README.md).
	return []Config{
		{Name: "bert-base", Arch: Encoder, Layers: 12, DModel: 768, Heads: 12, DFF: 3072, Ctx: 512, Vocab: 30522, TypeVocab: 2, Pooler: true, Act: GELUErf, Eps: 1e-12},
		{Name: "gpt2-medium", Arch: Decoder, Layers: 24, DModel: 1024, Heads: 16, DFF: 4096, Ctx: 1024, Vocab: 50257, Eps: 1e-5},
		{Name: "gpt2", Arch: Decoder, Layers: 12, DModel: 768, Heads: 12, DFF: 3072, Ctx: 1024, Vocab: 50257, Eps: 1e-5},
		{Name: "bert-mini", Arch: Encoder, Layers: 4, DModel: 256, Heads: 4, DFF: 1024, Ctx: 128, Vocab: 2048, TypeVocab: 2, Pooler: true, Eps: 1e-12, PreLN: true, ALiBi: true},
		{Name: "gpt2-mini", Arch: Decoder, Layers: 4, DModel: 256, Heads: 4, DFF: 1024, Ctx: 128, Vocab: 2048, Eps: 1e-5},
		{Name: "custom", Arch: Decoder, Layers: 2, DModel: 128, Heads: 2, DFF: 512, Ctx: 128, Vocab: 2048, Eps: 1e-5},
	}
}

// LookupConfig returns the built-in config called name.
func LookupConfig(name string) (Config, error) {
	var names []string
	for _, c := range Configs() {
		if c.Name == name {
			return c, nil
		}
		names = append(names, c.Name)
	}
	return Config{}, fmt.Errorf("models: unknown config %q (valid: %s)", name, strings.Join(names, ", "))
}

// Validate reports the first field of c that cannot make a model.
func (c Config) Validate() error {
	switch {
	case c.Arch != Encoder && c.Arch != Decoder:
		return fmt.Errorf("models: config %q: unknown arch %d", c.Name, int(c.Arch))
	case c.Layers < 1, c.DModel < 1, c.Heads < 1, c.DFF < 1, c.Ctx < 1, c.Vocab < 1:
		return fmt.Errorf("models: config %q: Layers, DModel, Heads, DFF, Ctx and Vocab must be positive (got %d, %d, %d, %d, %d, %d)",
			c.Name, c.Layers, c.DModel, c.Heads, c.DFF, c.Ctx, c.Vocab)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("models: config %q: DModel %d is not a multiple of Heads %d", c.Name, c.DModel, c.Heads)
	case c.TypeVocab < 0:
		return fmt.Errorf("models: config %q: negative TypeVocab %d", c.Name, c.TypeVocab)
	case c.Act != GELUTanh && c.Act != GELUErf:
		return fmt.Errorf("models: config %q: unknown activation %d", c.Name, int(c.Act))
	case c.Eps < 0 || math.IsNaN(float64(c.Eps)) || math.IsInf(float64(c.Eps), 0):
		return fmt.Errorf("models: config %q: LayerNorm Eps %g is not a finite number ≥ 0", c.Name, c.Eps)
	case c.Threads < 0:
		return fmt.Errorf("models: config %q: negative Threads %d", c.Name, c.Threads)
	}
	for k, n := range c.Classes {
		if n < 1 {
			return fmt.Errorf("models: config %q: task %d has %d classes", c.Name, k, n)
		}
	}
	return nil
}

// NormEps is the LayerNorm ε the model uses: Eps, or the architecture's
// default when Eps is 0.
func (c Config) NormEps() float32 {
	switch {
	case c.Eps > 0:
		return c.Eps
	case c.Arch == Encoder:
		return 1e-12
	}
	return 1e-5
}

// layout lists the model's tensors: the backbone (embeddings, blocks,
// final LayerNorm, pooler) first, then the heads (the MLM transform and
// output bias of an encoder, one classifier per task).
func (c Config) layout() (backbone, heads []Tensor) {
	D, F, V := c.DModel, c.DFF, c.Vocab
	add := func(list *[]Tensor, name string, k Kind, shape ...int) {
		*list = append(*list, Tensor{Name: name, Kind: k, Shape: shape})
	}
	b := &backbone
	add(b, "wte", Embedding, V, D)
	add(b, "wpe", Embedding, c.Ctx, D)
	if c.TypeVocab > 0 {
		add(b, "wtt", Embedding, c.TypeVocab, D)
	}
	if c.Arch == Encoder {
		add(b, "ln_e.weight", Norm, D)
		add(b, "ln_e.bias", Norm, D)
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("h.%d.", l)
		add(b, p+"ln_1.weight", Norm, D)
		add(b, p+"ln_1.bias", Norm, D)
		add(b, p+"attn.qkv.weight", Matrix, 3*D, D)
		add(b, p+"attn.qkv.bias", Bias, 3*D)
		add(b, p+"attn.proj.weight", Matrix, D, D)
		add(b, p+"attn.proj.bias", Bias, D)
		add(b, p+"ln_2.weight", Norm, D)
		add(b, p+"ln_2.bias", Norm, D)
		add(b, p+"mlp.fc.weight", Matrix, F, D)
		add(b, p+"mlp.fc.bias", Bias, F)
		add(b, p+"mlp.proj.weight", Matrix, D, F)
		add(b, p+"mlp.proj.bias", Bias, D)
	}
	if c.preLN() {
		add(b, "ln_f.weight", Norm, D)
		add(b, "ln_f.bias", Norm, D)
	}
	if c.Pooler {
		add(b, "pooler.weight", Matrix, D, D)
		add(b, "pooler.bias", Bias, D)
	}
	h := &heads
	if c.Arch == Encoder {
		add(h, "mlm.dense.weight", Matrix, D, D)
		add(h, "mlm.dense.bias", Bias, D)
		add(h, "mlm.ln.weight", Norm, D)
		add(h, "mlm.ln.bias", Norm, D)
		add(h, "mlm.bias", Bias, V)
	}
	for k, n := range c.Classes {
		add(h, fmt.Sprintf("cls.%d.weight", k), Matrix, n, D)
		add(h, fmt.Sprintf("cls.%d.bias", k), Bias, n)
	}
	return backbone, heads
}

func count(ts []Tensor) int {
	n := 0
	for _, t := range ts {
		n += t.Size()
	}
	return n
}

// ParamCount is the number of parameters the model holds: backbone, MLM
// head (encoders) and classification heads.
func (c Config) ParamCount() int {
	b, h := c.layout()
	return count(b) + count(h)
}

// BackboneParamCount is the number of parameters in the embeddings, the
// blocks, the final LayerNorm (decoders) and the pooler: the counts
// published for BERT and GPT-2 (the tied LM head adds nothing).
func (c Config) BackboneParamCount() int {
	b, _ := c.layout()
	return count(b)
}

// FLOPsPerToken is the training cost (forward and backward, counted as 3×
// the forward) of one token at full context Ctx: 2 FLOPs per weight of
// every matrix product, the tied LM head (or the MLM transform and
// decoder) included as if every position were predicted, plus the
// attention products QKᵀ and PV over the whole context (the causal half
// is computed too). Classification heads and the pooler act once per
// sequence and are left out.
func (c Config) FLOPsPerToken() float64 {
	return c.bodyFLOPs(c.Ctx) + c.headFLOPs()
}

// CostPerToken is the training cost in FLOPs (as FLOPsPerToken counts
// them) of one token in rows of T tokens when a fraction predicted of the
// positions enter the LM or MLM head (1 for next-token prediction, the
// masking rate for MLM).
func (c Config) CostPerToken(T int, predicted float64) float64 {
	return c.bodyFLOPs(T) + predicted*c.headFLOPs()
}

// bodyFLOPs is the training cost of one token through the blocks, for
// sequences of T tokens.
func (c Config) bodyFLOPs(T int) float64 {
	D, F, L := float64(c.DModel), float64(c.DFF), float64(c.Layers)
	fwd := L * (2*(4*D*D+2*D*F) + 4*float64(T)*D)
	return 3 * fwd
}

// headFLOPs is the training cost of one predicted token in the LM or MLM
// head.
func (c Config) headFLOPs() float64 {
	D, V := float64(c.DModel), float64(c.Vocab)
	fwd := 2 * D * V
	if c.Arch == Encoder {
		fwd += 2 * D * D
	}
	return 3 * fwd
}
