package bench

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/models"
)

func layout() *models.Params {
	return models.NewLayout([]models.Tensor{
		{Name: "w", Kind: models.Matrix, Shape: []int{2, 3}},
		{Name: "b", Kind: models.Bias, Shape: []int{3}},
		{Name: "ln", Kind: models.Norm, Shape: []int{2}},
		{Name: "emb", Kind: models.Embedding, Shape: []int{2, 2}},
		{Name: "v", Kind: models.Matrix, Shape: []int{4}},
	})
}

func TestPrune(t *testing.T) {
	p := layout()
	copy(p.Get("w"), []float32{0.5, -0.1, 0.3, -0.05, 0.2, -0.4})
	copy(p.Get("b"), []float32{0.001, 0.002, 0.003})
	copy(p.Get("ln"), []float32{0.0001, 1})
	copy(p.Get("emb"), []float32{0.01, 0.02, 0.03, 0.04})
	copy(p.Get("v"), []float32{0.1, -0.1, 0.2, 0.3}) // a tie at |0.1|
	n := Prune(p, 0.3)
	// w: floor(0.3·6) = 1 → -0.05 goes; v: floor(0.3·4) = 1 → the first
	// of the tied ±0.1 goes.
	if n != 2 {
		t.Errorf("pruned %d, want 2", n)
	}
	want := map[string][]float32{
		"w":   {0.5, -0.1, 0.3, 0, 0.2, -0.4},
		"b":   {0.001, 0.002, 0.003},
		"ln":  {0.0001, 1},
		"emb": {0.01, 0.02, 0.03, 0.04},
		"v":   {0, -0.1, 0.2, 0.3},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, p.Get(name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// Half of w: floor(3) → -0.05, -0.1, 0.2 (0 counts as smallest now).
	copy(p.Get("w"), []float32{0.5, -0.1, 0.3, -0.05, 0.2, -0.4})
	Prune(p, 0.5)
	if diff := cmp.Diff([]float32{0.5, 0, 0.3, 0, 0, -0.4}, p.Get("w")); diff != "" {
		t.Errorf("w at 50%% (-want +got):\n%s", diff)
	}
}

func TestQuantizeInt4(t *testing.T) {
	p := models.NewLayout([]models.Tensor{
		{Name: "w", Kind: models.Matrix, Shape: []int{3, 4}},
		{Name: "b", Kind: models.Bias, Shape: []int{4}},
		{Name: "emb", Kind: models.Embedding, Shape: []int{1, 4}},
	})
	copy(p.Get("w"), []float32{
		7, -3.5, 1.2, -0.2, // scale 1: 7, round(−3.5) = −4, 1, −0
		0, 0, 0, 0, // stays 0
		-14, 3, 5, 1, // scale 2: −7, round(1.5) = 2, round(2.5) = 3, round(0.5) = 1
	})
	copy(p.Get("b"), []float32{0.123, 4.56, -7.89, 0.001})
	copy(p.Get("emb"), []float32{0.3, 0.7, -0.2, 9})
	QuantizeInt4(p)
	want := []float32{7, -4, 1, 0, 0, 0, 0, 0, -14, 4, 6, 2}
	if diff := cmp.Diff(want, p.Get("w")); diff != "" {
		t.Errorf("w (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float32{0.123, 4.56, -7.89, 0.001}, p.Get("b")); diff != "" {
		t.Errorf("bias changed:\n%s", diff)
	}
	if diff := cmp.Diff([]float32{0.3, 0.7, -0.2, 9}, p.Get("emb")); diff != "" {
		t.Errorf("embedding changed:\n%s", diff)
	}
	// Another row: every value is an integer multiple q·scale, q in [−8, 7].
	copy(p.Get("w"), []float32{0.9, 0.33, -0.51, 0.07, 1, 2, 3, 4, 5, 6, 7, 8})
	QuantizeInt4(p)
	s := float64(float32(0.9) / 7)
	for i, x := range p.Get("w")[:4] {
		q := float64(x) / s
		if q < -8.0001 || q > 7.0001 || math.Abs(q-math.Round(q)) > 1e-4 {
			t.Errorf("element %d = %v is not q·%v with integer q in [-8, 7]", i, x, s)
		}
	}
	// 0.33/s = 2.57 → 3; −0.51/s = −3.97 → −4; 0.07/s = 0.54 → 1.
	sf := float32(0.9) / 7
	if diff := cmp.Diff([]float32{7 * sf, 3 * sf, -4 * sf, 1 * sf}, p.Get("w")[:4]); diff != "" {
		t.Errorf("row 0 (-want +got):\n%s", diff)
	}
}

// TestShareOfCustom checks, by hand, the share of the custom model's
// parameters that pruning touches: the weight matrices only (58%), so
// pruning 30% of each zeroes about 17% of all parameters; with the
// embeddings (and so the tied LM head) all but biases and norms.
func TestShareOfCustom(t *testing.T) {
	cfg, err := models.LookupConfig("custom")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.NewTransformer(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Per layer: QKV 128×384, projection 128×128, MLP 128×512 and 512×128
	// = 196,608 matrix weights; two layers 393,216. Embeddings: tokens
	// 2048×128 + positions 128×128 = 278,528. Biases (384+128+512+128)
	// and LayerNorms (4×128) per layer, and the final LayerNorm (2×128):
	// 2×1,664 + 256 = 3,584. Total 675,328.
	p := m.Params()
	if len(p.Data) != 675328 {
		t.Fatalf("custom has %d parameters, the hand count is 675,328", len(p.Data))
	}
	if got, want := Share(p, matricesOnly), 393216.0/675328; math.Abs(got-want) > 1e-12 {
		t.Errorf("matrix share %v, want %v", got, want)
	}
	if got, want := Share(p, withEmbeddings), (393216.0+278528)/675328; math.Abs(got-want) > 1e-12 {
		t.Errorf("matrix+embedding share %v, want %v", got, want)
	}
}
