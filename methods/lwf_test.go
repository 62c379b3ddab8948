package methods

import (
	"math"
	"testing"
)

// TestDistilGrad checks LwF's distillation gradient against finite
// differences, and that it vanishes when the student equals the teacher.
func TestDistilGrad(t *testing.T) {
	teacher := randomOutputs(1, 5, []int{5, 3, 4})
	logp := make([]float64, len(teacher.Logits))
	for i, c := range teacher.Classes {
		logSoftmax(logp[i*5:i*5+c], teacher.Logits[i*5:i*5+c], 2)
	}
	student := randomOutputs(2, 5, []int{5, 3, 4})
	logitsGradCheck(t, "distil T=2", distil(logp, 2), student)

	d := make([]float32, len(teacher.Logits))
	loss := distil(logp, 2)(teacher, d)
	var ent float64 // the teacher's own entropy: the loss's minimum
	for i, c := range teacher.Classes {
		for k := 0; k < c; k++ {
			ent -= math.Exp(logp[i*5+k]) * logp[i*5+k]
		}
	}
	ent /= 3
	if math.Abs(loss-ent) > 1e-9 {
		t.Errorf("loss at the teacher %.9g, want its entropy %.9g", loss, ent)
	}
	for j, v := range d {
		if math.Abs(float64(v)) > 1e-7 {
			t.Errorf("gradient at the teacher: ∂/∂z_%d = %g, want 0", j, v)
		}
	}
}
