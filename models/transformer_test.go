package models

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

func tinyConfig(arch Arch) Config {
	c := Config{Name: "tiny", Arch: arch, Layers: 2, DModel: 8, Heads: 2, DFF: 12, Ctx: 6, Vocab: 11, Classes: []int{3, 2}, Pooler: true}
	if arch == Encoder {
		c.TypeVocab = 2
	}
	return c
}

// perturb moves every parameter (gains, biases included) away from its
// initial value so that every path of the backward pass is exercised.
func perturb(m *Transformer, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	for i := range m.params.Data {
		m.params.Data[i] += float32(0.3 * r.NormFloat64())
	}
}

// group names a tensor by its role, for per-layer-type error reports.
func group(name string) string {
	switch {
	case name == "wte" || name == "wpe" || name == "wtt":
		return "embedding"
	case strings.Contains(name, "attn."):
		return "attention"
	case strings.Contains(name, "mlp."):
		return "GELU MLP"
	case strings.HasPrefix(name, "mlm."):
		return "MLM head"
	case strings.HasPrefix(name, "pooler.") || strings.HasPrefix(name, "cls."):
		return "pooler+classifier"
	case strings.Contains(name, "ln_"):
		return "LayerNorm"
	}
	return name
}

// gradCheck compares the model's gradients with central differences of
// the float64 reference on b and returns the worst error per group.
func gradCheck(t *testing.T, m *Transformer, b *Batch, nz func() (*refNoise, ForwardOptions)) map[string]float64 {
	t.Helper()
	var opt ForwardOptions
	var rn *refNoise
	if nz != nil {
		rn, opt = nz()
	}
	loss, err := m.ForwardBackward(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	r := newRef(m)
	if nz != nil {
		rn, _ = nz()
	}
	want, _ := r.loss(b, rn)
	if math.Abs(loss-want) > 1e-5*math.Max(1, math.Abs(want)) {
		t.Errorf("loss %.9g, reference %.9g", loss, want)
	}
	f := func() float64 {
		var n *refNoise
		if nz != nil {
			n, _ = nz()
		}
		l, _ := r.loss(b, n)
		return l
	}
	num := numGrad(f, r.x, 1e-5)
	errs := map[string]float64{}
	for _, tn := range m.params.Tensors {
		g := group(tn.Name)
		e := gradErr(m.grads.Slice(tn), num[tn.Offset:tn.Offset+tn.Size()])
		// gradErr floors relative to the tensor's own scale; tensors
		// whose gradient is exactly zero (unused heads) must be zero.
		allZero := true
		for _, v := range num[tn.Offset : tn.Offset+tn.Size()] {
			if math.Abs(v) > 1e-9 {
				allZero = false
			}
		}
		if allZero {
			e = 0
			for _, v := range m.grads.Slice(tn) {
				if v != 0 {
					e = math.Inf(1)
				}
			}
		}
		errs[g] = math.Max(errs[g], e)
	}
	whole := gradErr(m.grads.Data, num)
	var keys []string
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-18s max rel err %.2g", k, errs[k])
		if errs[k] > gradTol {
			t.Errorf("%s: max rel err %.3g > %g", k, errs[k], gradTol)
		}
	}
	t.Logf("whole model (%d params): loss %.6f, max rel err %.2g", m.params.Len(), loss, whole)
	if whole > gradTol {
		t.Errorf("whole model: max rel err %.3g > %g", whole, gradTol)
	}
	return errs
}

func tinyBatch(obj Objective, withPad bool) *Batch {
	b := &Batch{Objective: obj, B: 3, T: 5,
		Inputs:  []int32{1, 4, 7, 2, 9, 3, 3, 10, 0, 5, 6, 2, 8, 1, 4},
		Weights: []float32{1, 0.5, 2},
		Task:    []int{0, 1, 0},
	}
	if withPad {
		b.Lengths = []int{5, 3, 4}
	}
	switch obj {
	case NextToken:
		b.Targets = []int32{4, 7, 2, 9, -1, 3, 10, -1, -1, -1, 2, 8, 1, -1, -1}
		if !withPad {
			b.Targets = []int32{4, 7, 2, 9, 6, 3, 10, 0, 5, 1, 2, 8, 1, 4, 0}
		}
	case Masked:
		b.Targets = []int32{-1, 4, -1, -1, 9, 3, -1, 10, -1, -1, -1, -1, 8, 1, -1}
	case Classify:
		b.Targets = []int32{2, 1, 0}
	}
	return b
}

func TestDecoderGrad(t *testing.T) {
	for _, c := range []struct {
		name string
		b    *Batch
	}{
		{"next-token", tinyBatch(NextToken, false)},
		{"next-token padded", tinyBatch(NextToken, true)},
		{"classify padded", tinyBatch(Classify, true)},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewTransformer(tinyConfig(Decoder), 7)
			if err != nil {
				t.Fatal(err)
			}
			perturb(m, 1)
			gradCheck(t, m, c.b, nil)
		})
	}
}

func TestEncoderGrad(t *testing.T) {
	for _, c := range []struct {
		name  string
		b     *Batch
		preLN bool
	}{
		{"masked", tinyBatch(Masked, false), false},
		{"masked padded", tinyBatch(Masked, true), false},
		{"classify padded", tinyBatch(Classify, true), false},
		{"pre-LN masked padded", tinyBatch(Masked, true), true},
		{"pre-LN classify padded", tinyBatch(Classify, true), true},
		{"pre-LN ALiBi masked padded", tinyBatch(Masked, true), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(Encoder)
			cfg.PreLN = c.preLN
			cfg.ALiBi = strings.Contains(c.name, "ALiBi")
			m, err := NewTransformer(cfg, 8)
			if err != nil {
				t.Fatal(err)
			}
			perturb(m, 2)
			gradCheck(t, m, c.b, nil)
		})
	}
}

// A pre-LN encoder has the decoder's final LayerNorm and is not the
// post-LN encoder under another name.
func TestPreLNEncoder(t *testing.T) {
	post, pre := tinyConfig(Encoder), tinyConfig(Encoder)
	pre.PreLN = true
	if post.ParamCount()+2*post.DModel != pre.ParamCount() {
		t.Fatalf("pre-LN encoder has %d parameters, post-LN %d: want 2·DModel more (ln_f)", pre.ParamCount(), post.ParamCount())
	}
	b := tinyBatch(Masked, true)
	losses := make([]float64, 2)
	for i, cfg := range []Config{post, pre} {
		m, err := NewTransformer(cfg, 8)
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.Evaluate(b)
		if err != nil {
			t.Fatal(err)
		}
		losses[i] = s.LossSum
	}
	if losses[0] == losses[1] {
		t.Errorf("pre-LN and post-LN encoders give the same loss %v", losses[0])
	}
}

// TestNoisyGrad checks gradients through embedding and attention noise:
// the reference replays the same draws (embedding-noise std fixed at the
// base parameters, as the model treats it as a constant).
func TestNoisyGrad(t *testing.T) {
	for _, arch := range []Arch{Decoder, Encoder} {
		t.Run(arch.String(), func(t *testing.T) {
			m, err := NewTransformer(tinyConfig(arch), 9)
			if err != nil {
				t.Fatal(err)
			}
			perturb(m, 3)
			obj := NextToken
			if arch == Encoder {
				obj = Masked
			}
			b := tinyBatch(obj, true)
			const se, sa = 0.2, 0.5
			// Embedding RMS per row at the base parameters.
			base := newRef(m)
			std := make([]float64, b.B*b.T)
			D := m.cfg.DModel
			for n := range std {
				ss := 0.0
				for d := 0; d < D; d++ {
					v := base.t("wte")[int(b.Inputs[n])*D+d] + base.t("wpe")[(n%b.T)*D+d]
					if base.has("wtt") {
						v += base.t("wtt")[d]
					}
					v = float64(float32(v))
					ss += v * v
				}
				std[n] = se * math.Sqrt(ss/float64(D))
			}
			nz := func() (*refNoise, ForwardOptions) {
				return &refNoise{embed: se, att: sa, rng: rand.New(rand.NewPCG(42, 43)), embStd: std},
					ForwardOptions{EmbedNoise: se, AttnNoise: sa, RNG: rand.New(rand.NewPCG(42, 43))}
			}
			gradCheck(t, m, b, nz)
			// Noise must change the loss.
			clean, _ := m.Losses(b, ForwardOptions{})
			_, opt := nz()
			noisy, _ := m.Losses(b, opt)
			same := true
			for i := range clean {
				if clean[i] != noisy[i] {
					same = false
				}
			}
			if same {
				t.Error("noise left the losses unchanged")
			}
		})
	}
}

// TestLossesEvaluate checks Losses and Evaluate (which keep one layer's
// activations at a time) against the reference's per-target
// cross-entropies, for an even and an odd number of layers.
func TestLossesEvaluate(t *testing.T) {
	for _, c := range []struct {
		arch   Arch
		obj    Objective
		layers int
	}{{Decoder, NextToken, 2}, {Encoder, Masked, 2}, {Decoder, Classify, 2}, {Encoder, Classify, 2},
		{Decoder, NextToken, 3}, {Encoder, Masked, 3}, {Decoder, Classify, 1}, {Encoder, Classify, 3}} {
		cfg := tinyConfig(c.arch)
		cfg.Layers = c.layers
		m, err := NewTransformer(cfg, 10)
		if err != nil {
			t.Fatal(err)
		}
		perturb(m, 4)
		b := tinyBatch(c.obj, true)
		_, ce := newRef(m).loss(b, nil)
		losses, err := m.Losses(b, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Per-row means of the reference.
		want := make([]float64, b.B)
		cnt := make([]int, b.B)
		k := 0
		if c.obj == Classify {
			for r := range want {
				want[r], cnt[r] = ce[r], 1
			}
		} else {
			for n, tg := range b.Targets {
				if tg >= 0 {
					want[n/b.T] += ce[k]
					cnt[n/b.T]++
					k++
				}
			}
		}
		sum := 0.0
		for r := range want {
			want[r] /= float64(cnt[r])
			if math.Abs(losses[r]-want[r]) > 1e-5 {
				t.Errorf("%v %v: Losses[%d] = %v, reference %v", c.arch, c.obj, r, losses[r], want[r])
			}
		}
		for _, v := range ce {
			sum += v
		}
		s, err := m.Evaluate(b)
		if err != nil {
			t.Fatal(err)
		}
		if s.Total != len(ce) || math.Abs(s.LossSum-sum) > 1e-4 || s.Correct < 0 || s.Correct > s.Total {
			t.Errorf("%v %v: Evaluate = %+v, want Total %d LossSum %v", c.arch, c.obj, s, len(ce), sum)
		}
	}
}

// TestEvaluateCorrect makes the model certain of known answers by setting
// the classifier directly and checks the top-1 count.
func TestEvaluateCorrect(t *testing.T) {
	cfg := tinyConfig(Encoder)
	cfg.Pooler = false
	m, err := NewTransformer(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	b := tinyBatch(Classify, true)
	// Head 0 (rows 0, 2): bias makes class 2 win by far; head 1 (row 1):
	// class 0 wins.
	clear(m.params.Get("cls.0.weight"))
	clear(m.params.Get("cls.1.weight"))
	copy(m.params.Get("cls.0.bias"), []float32{0, 0, 50})
	copy(m.params.Get("cls.1.bias"), []float32{50, 0})
	s, err := m.Evaluate(b) // targets 2, 1, 0: row 0 right, rows 1 and 2 wrong
	if err != nil {
		t.Fatal(err)
	}
	if s.Correct != 1 || s.Total != 3 {
		t.Errorf("Evaluate = %+v, want 1 correct of 3", s)
	}
	if math.Abs(s.LossSum-(0+50+50)) > 1e-3 {
		t.Errorf("LossSum = %v, want ≈ 100", s.LossSum)
	}
}

func TestBatchErrors(t *testing.T) {
	dec, _ := NewTransformer(tinyConfig(Decoder), 1)
	enc, _ := NewTransformer(tinyConfig(Encoder), 1)
	good := func(obj Objective) *Batch { return tinyBatch(obj, true) }
	for _, c := range []struct {
		name string
		m    *Transformer
		b    *Batch
		opt  ForwardOptions
		want string
	}{
		{"token out of vocab", dec, func() *Batch { b := good(NextToken); b.Inputs[7] = 11; return b }(), ForwardOptions{}, "Inputs[7] (row 1)"},
		{"too long", dec, &Batch{Objective: NextToken, B: 1, T: 7, Inputs: make([]int32, 7), Targets: make([]int32, 7)}, ForwardOptions{}, "exceeds the context"},
		{"length", dec, func() *Batch { b := good(NextToken); b.Lengths[2] = 0; return b }(), ForwardOptions{}, "Lengths[2]"},
		{"target", dec, func() *Batch { b := good(NextToken); b.Targets[3] = 20; return b }(), ForwardOptions{}, "Targets[3]"},
		{"encoder next-token", enc, good(NextToken), ForwardOptions{}, "encoder cannot"},
		{"decoder masked", dec, good(Masked), ForwardOptions{}, "no masked-token head"},
		{"task", enc, func() *Batch { b := good(Classify); b.Task[1] = 2; return b }(), ForwardOptions{}, "Task[1] = 2"},
		{"class", enc, func() *Batch { b := good(Classify); b.Targets[1] = 2; return b }(), ForwardOptions{}, "Targets[1] = 2"},
		{"noise without rng", dec, good(NextToken), ForwardOptions{AttnNoise: 0.1}, "without an RNG"},
		{"no targets", dec, func() *Batch {
			b := good(NextToken)
			clear(b.Targets)
			for i := range b.Targets {
				b.Targets[i] = -1
			}
			return b
		}(), ForwardOptions{}, "no targets"},
	} {
		_, err := c.m.ForwardBackward(c.b, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestTransformerRefusesOutputs: a Transformer has no output mask, so the
// training losses refuse Batch.Outputs instead of ignoring it; Evaluate,
// which always uses every output, accepts it.
func TestTransformerRefusesOutputs(t *testing.T) {
	for _, arch := range []Arch{Decoder, Encoder} {
		m, err := NewTransformer(tinyConfig(arch), 1)
		if err != nil {
			t.Fatal(err)
		}
		b := tinyBatch(Classify, true)
		b.Outputs = 2
		const want = "does not support an output mask"
		if _, err := m.ForwardBackward(b, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v ForwardBackward: error %v, want one containing %q", arch, err, want)
		}
		if _, err := m.Losses(b, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v Losses: error %v, want one containing %q", arch, err, want)
		}
		got, err := m.Evaluate(b)
		if err != nil {
			t.Fatalf("%v Evaluate with Outputs: %v", arch, err)
		}
		b.Outputs = 0
		if ref, _ := m.Evaluate(b); got != ref {
			t.Errorf("%v Evaluate: %+v with Outputs, %+v without", arch, got, ref)
		}
	}
}

func TestConfigs(t *testing.T) {
	want := map[string]int{"bert-base": 109_482_240, "gpt2": 124_439_808, "gpt2-medium": 354_823_168}
	var names []string
	for _, c := range Configs() {
		names = append(names, c.Name)
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		if n, ok := want[c.Name]; ok && c.BackboneParamCount() != n {
			t.Errorf("%s: BackboneParamCount %d, want %d", c.Name, c.BackboneParamCount(), n)
		}
		t.Logf("%-12s backbone %11d total %11d  train FLOPs/token %.3g", c.Name, c.BackboneParamCount(), c.ParamCount(), c.FLOPsPerToken())
	}
	if got := strings.Join(names, " "); got != "bert-base gpt2-medium gpt2 bert-mini gpt2-mini custom" {
		t.Errorf("config order %q", got)
	}
	// The encoder's MLM head: transform D²+D, LayerNorm 2D, output bias V.
	bb, _ := LookupConfig("bert-base")
	if extra := bb.ParamCount() - bb.BackboneParamCount(); extra != 768*768+768+2*768+30522 {
		t.Errorf("bert-base head params %d", extra)
	}
	bb.Classes = []int{2, 5}
	if extra := bb.ParamCount() - bb.BackboneParamCount(); extra != 768*768+768+2*768+30522+(2+5)*769 {
		t.Errorf("bert-base head params with two classifiers %d", extra)
	}
	g, _ := LookupConfig("gpt2")
	if g.ParamCount() != g.BackboneParamCount() {
		t.Errorf("gpt2 holds %d params beyond its backbone (LM head must be tied)", g.ParamCount()-g.BackboneParamCount())
	}
	// Hand count of the training FLOPs of gpt2 at ctx 1024:
	// 3·(2·12·(4·768²+2·768·3072) + 12·4·1024·768 + 2·768·50257).
	if f, w := g.FLOPsPerToken(), 3*(2*12*(4*768*768+2*768*3072)+12*4*1024*768+2*768*50257.0); f != w {
		t.Errorf("gpt2 FLOPsPerToken %v, want %v", f, w)
	}
	// bert-mini at 64 tokens with 15% of the positions in the MLM head:
	// 3·(2·4·(4·256²+2·256·1024) + 4·4·64·256) + 0.15·3·(2·256·2048 + 2·256²).
	bm, _ := LookupConfig("bert-mini")
	if f, w := bm.CostPerToken(64, 0.15), 3*(2*4*(4*256*256+2*256*1024)+4*4*64*256)+0.15*3*(2*256*2048+2*256*256.0); math.Abs(f-w) > 1e-6*w {
		t.Errorf("bert-mini CostPerToken(64, 0.15) %v, want %v", f, w)
	}
	if _, err := LookupConfig("gpt3"); err == nil || !strings.Contains(err.Error(), "bert-base, gpt2-medium, gpt2, bert-mini, gpt2-mini, custom") {
		t.Errorf("LookupConfig(gpt3) error %v", err)
	}
	bad := Config{Name: "bad", Layers: 1, DModel: 10, Heads: 3, DFF: 1, Ctx: 1, Vocab: 1}
	if _, err := NewTransformer(bad, 1); err == nil || !strings.Contains(err.Error(), "multiple of Heads") {
		t.Errorf("bad config error %v", err)
	}
}

// TestInit checks the documented initialisation statistics on gpt2-mini.
func TestInit(t *testing.T) {
	c, _ := LookupConfig("gpt2-mini")
	m, err := NewTransformer(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	stat := func(name string) (mean, std float64) {
		x := m.params.Get(name)
		for _, v := range x {
			mean += float64(v)
		}
		mean /= float64(len(x))
		for _, v := range x {
			std += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(std / float64(len(x)))
	}
	for _, c := range []struct {
		name      string
		mean, std float64
	}{
		{"wte", 0, 0.02}, {"h.1.attn.qkv.weight", 0, 0.02}, {"h.3.mlp.proj.weight", 0, 0.02 / math.Sqrt(8)},
		{"h.0.attn.proj.weight", 0, 0.02 / math.Sqrt(8)}, {"h.0.ln_1.weight", 1, 0}, {"h.2.mlp.fc.bias", 0, 0},
	} {
		mean, std := stat(c.name)
		if math.Abs(mean-c.mean) > 0.002 || math.Abs(std-c.std) > 0.03*c.std+1e-9 {
			t.Errorf("%s: mean %.4g std %.4g, want %.4g, %.4g", c.name, mean, std, c.mean, c.std)
		}
	}
	m2, _ := NewTransformer(c, 1)
	m3, _ := NewTransformer(c, 2)
	if !equal32(m.params.Data, m2.params.Data) {
		t.Error("same seed, different parameters")
	}
	if equal32(m.params.Data, m3.params.Data) {
		t.Error("different seeds, same parameters")
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestGradsOverwritten checks that ForwardBackward overwrites Grads: after
// a sequence of batches of every objective, each started from gradients
// set to NaN, the gradients equal those of a fresh model on the last
// batch alone.
func TestGradsOverwritten(t *testing.T) {
	for _, arch := range []Arch{Decoder, Encoder} {
		tok := NextToken
		if arch == Encoder {
			tok = Masked
		}
		seq := []*Batch{tinyBatch(tok, false), tinyBatch(Classify, true), tinyBatch(tok, true), tinyBatch(Classify, false)}
		m, _ := NewTransformer(tinyConfig(arch), 3)
		perturb(m, 5)
		for i, b := range seq {
			for j := range m.grads.Data {
				m.grads.Data[j] = float32(math.NaN()) // as if a method had scribbled on them
			}
			if _, err := m.ForwardBackward(b, ForwardOptions{}); err != nil {
				t.Fatal(err)
			}
			fresh, _ := NewTransformer(tinyConfig(arch), 3)
			copy(fresh.params.Data, m.params.Data)
			if _, err := fresh.ForwardBackward(b, ForwardOptions{}); err != nil {
				t.Fatal(err)
			}
			if !equal32(m.grads.Data, fresh.grads.Data) {
				t.Errorf("%v: after batch %d (%v) the gradients differ from a fresh model's", arch, i, b.Objective)
			}
		}
	}
}

// A checkpoint records its attention bias; one trained without ALiBi
// (or before the key existed) is refused by an ALiBi model and the
// reverse, while a foreign file without sleepbench's metadata is not.
func TestCheckAttentionBias(t *testing.T) {
	alibi, plain := tinyConfig(Encoder), tinyConfig(Encoder)
	alibi.ALiBi = true
	for _, c := range []struct {
		cfg  Config
		meta map[string]string
		ok   bool
	}{
		{alibi, map[string]string{"model": "bert-mini", "attention_bias": "alibi"}, true},
		{alibi, map[string]string{"model": "bert-mini"}, false},
		{alibi, map[string]string{"model": "bert-mini", "attention_bias": "none"}, false},
		{plain, map[string]string{"model": "bert-mini", "attention_bias": "alibi"}, false},
		{plain, map[string]string{"model": "gpt2-mini"}, true},
		{alibi, nil, true},
		{plain, map[string]string{"format": "pt"}, true},
	} {
		err := CheckAttentionBias(c.cfg, "x.safetensors", c.meta)
		if (err == nil) != c.ok {
			t.Errorf("ALiBi %v, metadata %v: error %v, want ok=%v", c.cfg.ALiBi, c.meta, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "x.safetensors") {
			t.Errorf("error %q does not name the file", err)
		}
	}
}
