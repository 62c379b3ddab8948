package methods

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPriorityFrequencies draws 300,000 times from priorities 1, 3, 0, 6:
// item 1 must come 3× as often as item 0 (ratio within 3%: the ratio's
// relative sd is about √(1/30000 + 1/90000) ≈ 0.7%, so 3% is > 4 sd),
// item 2 never, item 3 6× item 0.
func TestPriorityFrequencies(t *testing.T) {
	p, err := NewPriority([]float64{1, 3, 0, 6})
	if err != nil {
		t.Fatal(err)
	}
	if p.Prob(1) != 0.3 || p.Prob(2) != 0 {
		t.Fatalf("P = %v %v %v %v", p.Prob(0), p.Prob(1), p.Prob(2), p.Prob(3))
	}
	rng := rand.New(rand.NewPCG(4, 4))
	counts := make([]float64, 4)
	const n = 300000
	for i := 0; i < n; i++ {
		counts[p.Draw(rng)]++
	}
	if counts[2] != 0 {
		t.Fatalf("zero-priority item drawn %v times", counts[2])
	}
	for _, c := range []struct {
		i    int
		want float64
	}{{1, 3}, {3, 6}} {
		r := counts[c.i] / counts[0]
		if math.Abs(r/c.want-1) > 0.03 {
			t.Errorf("item %d drawn %.3f× as often as item 0, want %v ± 3%%", c.i, r, c.want)
		}
	}
	t.Logf("counts %v", counts)
}

func TestPriorityWeightsAndErrors(t *testing.T) {
	p, _ := NewPriority([]float64{1, 3, 0, 4})
	// N = 4, P = 1/8, 3/8, 0, 4/8. β = 0.5: (N·P)^−½ = √2, √(2/3), –, √(1/2);
	// max √2, so w = 1, √(1/3), 0, 1/2.
	w := p.ISWeights(0.5)
	want := []float64{1, math.Sqrt(1.0 / 3), 0, 0.5}
	for i := range want {
		if math.Abs(w[i]-want[i]) > 1e-12 {
			t.Errorf("w[%d] = %v, want %v", i, w[i], want[i])
		}
	}
	for _, bad := range [][]float64{{}, {0, 0}, {1, -1}, {math.NaN()}, {math.Inf(1)}} {
		if _, err := NewPriority(bad); err == nil {
			t.Errorf("priorities %v accepted", bad)
		}
	}
}
