package bench

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestInitHF: init=hf: with two files gives each model the file of its
// shape, records it, and refuses a model no file fits, naming it.
func TestInitHF(t *testing.T) {
	dir := filepath.Join("..", "models", "testdata", "hf")
	gpt2, bert := filepath.Join(dir, "gpt2", "model.safetensors"), filepath.Join(dir, "bert", "model.safetensors")
	info, err := models.InspectHF(gpt2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := info.Config("tiny-gpt2")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.NewTransformer(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Params().Clone()
	got, err := Real().Init(m, "tiny-gpt2", InitHF+bert+","+gpt2, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "hf:"+gpt2+" sha256:") {
		t.Errorf("recorded %q, want the GPT-2 file and its sha256", got)
	}
	changed := 0
	for i, v := range m.Params().Data {
		if v != before.Data[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Error("init=hf left the seeded weights")
	}
	_, err = Real().Init(m, "tiny-gpt2", InitHF+bert, "")
	if err == nil || !strings.Contains(err.Error(), "no checkpoint fits model tiny-gpt2") || !strings.Contains(err.Error(), bert) {
		t.Errorf("a BERT file for a GPT-2 model: %v", err)
	}
}
