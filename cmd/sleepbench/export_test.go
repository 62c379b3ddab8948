package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestExportHF exports the committed custom base checkpoint and loads the
// export back with the Hugging Face loader: the same parameters, bit for
// bit, and a config.json that names the shape.
func TestExportHF(t *testing.T) {
	in := filepath.Join("..", "..", "models", "base", "custom.safetensors")
	out := filepath.Join(t.TempDir(), "model.safetensors")
	if err := runExport([]string{"-hf", "-model", "custom", "-in", in, "-out", out}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := models.LookupConfig("custom")
	want, _ := models.NewTransformer(cfg, 1)
	if _, err := models.LoadCheckpoint(in, want.Params()); err != nil {
		t.Fatal(err)
	}
	got, _ := models.NewTransformer(cfg, 2)
	if _, err := models.LoadHF(out, got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Params().Data, want.Params().Data) {
		t.Error("the export does not load back to the checkpoint's parameters")
	}
	js, err := os.ReadFile(filepath.Join(filepath.Dir(out), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"n_head": 2`) || !strings.Contains(string(js), `"activation_function": "gelu_new"`) {
		t.Errorf("config.json:\n%s", js)
	}
	for _, bad := range [][]string{
		{"-model", "custom", "-in", in, "-out", out},
		{"-hf", "-model", "gpt3", "-in", in, "-out", out},
		{"-hf", "-model", "gpt2-mini", "-in", in, "-out", out},
	} {
		if err := runExport(bad); err == nil {
			t.Errorf("export %v succeeded", bad)
		}
	}
}
