package methods

import (
	"math"
	"testing"
)

// TestDERMatchGrad checks DER++'s logit-matching loss and gradient: the
// mean squared error against stored full logits, and the (k+1)-bin
// cross-entropy against stored top-k log-probabilities, against finite
// differences; and that both are at their minimum (gradient 0) when the
// outputs are those stored.
func TestDERMatchGrad(t *testing.T) {
	d := &derpp{topk: 3}
	stored := randomOutputs(4, 6, []int{3, 6, 6})
	ents := make([]*derRow, 3)
	for i := range ents {
		z := stored.Logits[i*6 : i*6+stored.Classes[i]]
		ents[i] = &derRow{outs: []derOut{d.record(z)}}
	}
	if ents[0].outs[0].ids != nil || ents[1].outs[0].ids == nil {
		t.Fatalf("3 logits with topk 3 must be kept whole, 6 as top 3")
	}
	if n := ents[1].outs[0].bytes(); n != 3*8+4 {
		t.Errorf("a top-3 target takes %d bytes, want 3·8 + 4 = 28", n)
	}
	logitsGradCheck(t, "DER match", derMatch(ents), randomOutputs(5, 6, []int{3, 6, 6}))

	g := make([]float32, len(stored.Logits))
	derMatch(ents)(stored, g)
	for j, v := range g {
		if math.Abs(float64(v)) > 1e-6 {
			t.Errorf("gradient at the stored outputs: ∂/∂z_%d = %g, want 0", j, v)
		}
	}
	// The stored top-k bins hold all the mass: Σ P_k + P_rest = 1.
	o := ents[2].outs[0]
	s := math.Exp(float64(o.rest))
	for _, v := range o.vals {
		s += math.Exp(float64(v))
	}
	if math.Abs(s-1) > 1e-5 {
		t.Errorf("stored top-3 probabilities and rest sum to %.7f, want 1", s)
	}
}
