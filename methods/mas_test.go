package methods

import (
	"math"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

func TestSqNormGrad(t *testing.T) {
	logitsGradCheck(t, "‖z‖²", sqNorm, randomOutputs(3, 4, []int{4, 2}))
}

// TestMASImportanceByHand checks MAS's importance on a linear model with
// no hidden layer, z = W·x + b, where ∂‖z‖²/∂W_jk = 2·z_j·x_k and
// ∂‖z‖²/∂b_j = 2·z_j: the mean of their absolute values over two rows.
func TestMASImportanceByHand(t *testing.T) {
	model, err := models.NewMLP(models.MLPConfig{In: 2, Classes: []int{2}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	W := []float32{0.5, -1, 2, 0.25}
	bias := []float32{0.1, -0.3}
	copy(model.Params().Data, append(append([]float32(nil), W...), bias...))
	b := &models.Batch{Objective: models.Classify, B: 2, T: 2, Features: []float32{1, 2, -1, 0.5}, Targets: []int32{0, 1}}
	imp, err := MASImportance(model, model.Grads(), b)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 6)
	for r := 0; r < 2; r++ {
		x := b.Features[2*r : 2*r+2]
		for j := 0; j < 2; j++ {
			z := float64(W[2*j]*x[0] + W[2*j+1]*x[1] + bias[j])
			for k := 0; k < 2; k++ {
				want[2*j+k] += math.Abs(2*z*float64(x[k])) / 2
			}
			want[4+j] += math.Abs(2*z) / 2
		}
	}
	for i, w := range want {
		if math.Abs(float64(imp[i])-w) > 1e-5 {
			t.Errorf("Ω_%d = %.6g, by hand %.6g", i, imp[i], w)
		}
	}
}
