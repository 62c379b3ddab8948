package models

import "testing"

// TestNumericsGrad checks a whole model with the exact GELU and a
// non-default LayerNorm ε against the float64 reference, which reads
// both from the config: an ε of 1e-2 moves the loss far more than the
// tolerance, so a model that ignored Eps would fail.
func TestNumericsGrad(t *testing.T) {
	for _, c := range []struct {
		arch Arch
		b    *Batch
	}{
		{Decoder, tinyBatch(NextToken, true)},
		{Encoder, tinyBatch(Masked, true)},
		{Encoder, tinyBatch(Classify, false)},
	} {
		t.Run(c.arch.String()+" "+c.b.Objective.String(), func(t *testing.T) {
			cfg := tinyConfig(c.arch)
			cfg.Act, cfg.Eps = GELUErf, 1e-2
			m, err := NewTransformer(cfg, 9)
			if err != nil {
				t.Fatal(err)
			}
			perturb(m, 3)
			gradCheck(t, m, c.b, nil)
		})
	}
}

// TestConfigNumerics pins the numerics of the built-in configs: the
// full-size ones those of the published checkpoints (GPT-2: tanh GELU,
// ε 1e-5; BERT: erf GELU, ε 1e-12), the small ones those their committed
// base checkpoints were trained with (tanh everywhere).
func TestConfigNumerics(t *testing.T) {
	want := map[string]struct {
		act Activation
		eps float32
	}{
		"bert-base":   {GELUErf, 1e-12},
		"gpt2-medium": {GELUTanh, 1e-5},
		"gpt2":        {GELUTanh, 1e-5},
		"bert-mini":   {GELUTanh, 1e-12},
		"gpt2-mini":   {GELUTanh, 1e-5},
		"custom":      {GELUTanh, 1e-5},
	}
	for _, c := range Configs() {
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("config %s: numerics not pinned by this test", c.Name)
			continue
		}
		if c.Act != w.act || c.NormEps() != w.eps {
			t.Errorf("config %s: %v, ε %g; want %v, ε %g", c.Name, c.Act, c.NormEps(), w.act, w.eps)
		}
	}
	if e := (Config{Arch: Encoder}).NormEps(); e != 1e-12 {
		t.Errorf("default encoder ε %g, want 1e-12", e)
	}
	if e := (Config{Arch: Decoder}).NormEps(); e != 1e-5 {
		t.Errorf("default decoder ε %g, want 1e-5", e)
	}
	bad := tinyConfig(Decoder)
	bad.Act = 7
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted activation 7")
	}
	bad = tinyConfig(Decoder)
	bad.Eps = -1
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted ε −1")
	}
}
