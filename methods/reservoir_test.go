package methods

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestReservoirUniform streams items 0..999 through a 100-slot reservoir
// under 2,000 seeds. Each item should be kept with probability 0.1, so
// its count c is Binomial(2000, 0.1): mean 200, sd √(2000·0.1·0.9) ≈ 13.4.
// Bounds: every item within 5 sd (two-sided 5.7e-7 per item, < 6e-4 for
// all 1,000 by the union bound), and the statistic Σ(c−200)²/(2000·0.1·0.9),
// ≈ χ² with ~1000 degrees of freedom (mean ≈ 1000, sd ≈ 45), below
// 1000 + 5·45.
func TestReservoirUniform(t *testing.T) {
	const items, capacity, seeds = 1000, 100, 2000
	counts := make([]int, items)
	for seed := uint64(0); seed < seeds; seed++ {
		r := NewReservoir[int](capacity)
		rng := rand.New(rand.NewPCG(seed, 99))
		for i := 0; i < items; i++ {
			r.Add(rng, i)
		}
		if r.Len() != capacity || r.Seen() != items {
			t.Fatalf("len %d seen %d", r.Len(), r.Seen())
		}
		seen := map[int]bool{}
		for _, v := range r.Items() {
			if seen[v] {
				t.Fatalf("item %d held twice", v)
			}
			seen[v] = true
			counts[v]++
		}
	}
	mean := float64(seeds) * capacity / items
	sd := math.Sqrt(mean * (1 - float64(capacity)/items))
	var chi, worst float64
	for i, c := range counts {
		z := (float64(c) - mean) / sd
		chi += z * z
		if math.Abs(z) > math.Abs(worst) {
			worst = z
		}
		if math.Abs(z) > 5 {
			t.Errorf("item %d kept %d times, want %.0f ± 5·%.1f", i, c, mean, sd)
		}
	}
	if chi > items+5*math.Sqrt(2*items) {
		t.Errorf("χ² = %.0f over %d items, want < %.0f", chi, items, items+5*math.Sqrt(2*items))
	}
	t.Logf("inclusion counts: mean %.0f, worst z %.2f, χ² %.0f (df ≈ %d)", mean, worst, chi, items)
}

func TestReservoirOfferPut(t *testing.T) {
	r := NewReservoir[string](2)
	rng := rand.New(rand.NewPCG(1, 1))
	for i, want := range []int{0, 1} {
		slot, keep := r.Offer(rng)
		if !keep || slot != want {
			t.Fatalf("offer %d: slot %d keep %v, want slot %d", i, slot, keep, want)
		}
		r.Put(slot, "x")
	}
	kept := 0
	for i := 0; i < 1000; i++ {
		if slot, keep := r.Offer(rng); keep {
			if slot < 0 || slot >= 2 {
				t.Fatalf("slot %d out of range", slot)
			}
			kept++
		}
	}
	// Item n (0-based) is kept with probability 2/(n+1): Σ over n = 2..1001
	// ≈ 2·(ln 1002 − ln 2) ≈ 12.4.
	if kept < 3 || kept > 30 {
		t.Fatalf("kept %d of 1000 late items, expected about 12", kept)
	}
	if z := NewReservoir[int](0); func() bool { _, k := z.Offer(rng); return k }() {
		t.Fatal("zero-capacity reservoir kept an item")
	}
}
