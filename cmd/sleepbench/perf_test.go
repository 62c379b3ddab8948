package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestStepFLOPs checks the per-step count against FLOPsPerToken, which
// counts a full-context sequence with every position predicted.
func TestStepFLOPs(t *testing.T) {
	for _, name := range []string{"bert-mini", "gpt2-mini", "gpt2"} {
		c, err := models.LookupConfig(name)
		if err != nil {
			t.Fatal(err)
		}
		got := stepFLOPs(c, 3, c.Ctx, 3*c.Ctx)
		want := 3 * float64(c.Ctx) * c.FLOPsPerToken()
		if d := got/want - 1; d > 1e-12 || d < -1e-12 {
			t.Errorf("%s: stepFLOPs = %g, want %g", name, got, want)
		}
	}
	// Hand count, custom (L=2, D=128, F=512, V=2048) at T=4, 2 targets:
	// body per token 3·2·(2·(4·128²+2·128·512) + 4·4·128) = 2,371,584;
	// head per target 3·2·128·2048 = 1,572,864.
	c, _ := models.LookupConfig("custom")
	if got, want := stepFLOPs(c, 1, 4, 2), 4*2371584.0+2*1572864.0; got != want {
		t.Errorf("custom: stepFLOPs = %g, want %g", got, want)
	}
}

func TestPerfBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	enc, _ := models.LookupConfig("bert-mini")
	b := perfBatch(enc, 3, 128, rng)
	for r := 0; r < 3; r++ {
		n := 0
		for p := 0; p < 128; p++ {
			if b.Targets[r*128+p] >= 0 {
				n++
				if b.Inputs[r*128+p] != maskID {
					t.Errorf("row %d position %d is a target but not masked", r, p)
				}
			}
		}
		if n != 19 { // round(0.15·128)
			t.Errorf("row %d: %d masked positions, want 19", r, n)
		}
	}
	dec, _ := models.LookupConfig("gpt2-mini")
	b = perfBatch(dec, 2, 8, rng)
	for r := 0; r < 2; r++ {
		for p := 0; p+1 < 8; p++ {
			if b.Targets[r*8+p] != b.Inputs[r*8+p+1] {
				t.Errorf("row %d: target %d is not the next input", r, p)
			}
		}
	}
}

func TestParseResults(t *testing.T) {
	rs, err := parseResults(strings.NewReader(`{"model": "gpt2-mini", "batch": 4, "seq": 128, "tokens_per_s": 1000.5, "step_ms": 512, "peak_rss_mb": 300}` + "\n\n"))
	if err != nil || len(rs) != 1 || rs[0].Model != "gpt2-mini" || rs[0].TokensPerS != 1000.5 || rs[0].Batch != 4 {
		t.Fatalf("parseResults = %+v, %v", rs, err)
	}
	if _, err := parseResults(strings.NewReader("{\"model\": \"x\"}\n")); err == nil {
		t.Error("a result without tokens_per_s parsed")
	}
	if _, err := parseResults(strings.NewReader("Traceback\n")); err == nil {
		t.Error("a non-JSON line parsed")
	}
}

// TestMeasureGo trains the smallest model for one step.
func TestMeasureGo(t *testing.T) {
	c, _ := models.LookupConfig("custom")
	r, err := measureGo(c, perfFlags{batch: 2, seq: 16, steps: 1, warmup: 0, threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "custom" || !(r.TokensPerS > 0) || !(r.StepMS > 0) || !(r.PeakRSSMB > 0) {
		t.Errorf("measureGo = %+v", r)
	}
}

// TestRunTorchMissing checks that a Python without PyTorch gives a note,
// not an error, through the script's exit code 3.
func TestRunTorchMissing(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "python")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'perf_torch: PyTorch is not importable' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "perf_torch.py")
	if err := os.WriteFile(script, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, note, err := runTorch(fake, script, "custom", perfFlags{batch: 1, seq: 4, steps: 1, threads: 1})
	if err != nil || !strings.Contains(note, "not importable") {
		t.Errorf("runTorch = note %q, err %v; want the script's message as a note", note, err)
	}
	if _, _, err := runTorch(fake, filepath.Join(dir, "absent.py"), "custom", perfFlags{}); err == nil {
		t.Error("a missing script gave no error")
	}
}

// The peer is told the Go model's exact shape, and the script's own
// table (used when it runs alone) agrees with models.Configs.
func TestTorchShape(t *testing.T) {
	got, err := torchShape("bert-mini")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alibi":true,"arch":"encoder","ctx":128,"d_ff":1024,"d_model":256,"heads":4,"layers":4,"pre_ln":true,"vocab":2048}`
	if got != want {
		t.Errorf("bert-mini shape %s, want %s", got, want)
	}
	if _, err := torchShape("gpt3"); err == nil {
		t.Error("unknown model: no error")
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "perf_torch.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range models.Configs() {
		arch := "decoder"
		if c.Arch == models.Encoder {
			arch = "encoder"
		}
		py := func(b bool) string {
			if b {
				return "True"
			}
			return "False"
		}
		row := fmt.Sprintf("%q: (%q, %d, %d, %d, %d, %d, %d, %s, %s)", c.Name, arch, c.Layers, c.DModel, c.Heads, c.DFF, c.Ctx, c.Vocab,
			py(c.PreLN || c.Arch == models.Decoder), py(c.ALiBi))
		if !strings.Contains(string(script), row) {
			t.Errorf("scripts/perf_torch.py has no row %s", row)
		}
	}
}
