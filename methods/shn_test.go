package methods

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

func shnParams() *models.Params {
	p := models.NewLayout([]models.Tensor{
		{Name: "emb", Kind: models.Embedding, Shape: []int{10, 4}},
		{Name: "w1", Kind: models.Matrix, Shape: []int{8, 6}},
		{Name: "b1", Kind: models.Bias, Shape: []int{8}},
		{Name: "ln", Kind: models.Norm, Shape: []int{8}},
		{Name: "w2", Kind: models.Matrix, Shape: []int{3, 8}},
	})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range p.Data {
		p.Data[i] = float32(rng.NormFloat64() * 0.5)
	}
	copy(p.Get("w2"), []float32{3, -2}) // a few large weights
	return p
}

func rmsOf(w []float32) float64 {
	var ss float64
	for _, v := range w {
		ss += float64(v) * float64(v)
	}
	return math.Sqrt(ss / float64(len(w)))
}

func TestSHNElementwise(t *testing.T) {
	p := shnParams()
	old := p.Clone()
	SHN(p, 2, SHNElementwise)
	for _, tn := range p.Tensors {
		a, b := old.Slice(tn), p.Slice(tn)
		if tn.Kind != models.Matrix {
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("%s (%v) changed at %d", tn.Name, tn.Kind, i)
				}
			}
			continue
		}
		if r0, r1 := rmsOf(a), rmsOf(b); math.Abs(r1/r0-1) > 1e-5 {
			t.Errorf("%s RMS %.7f → %.7f", tn.Name, r0, r1)
		}
		// The gain |w_new/w_old| must fall as |w_old| grows, and large
		// weights must end up relatively smaller, small ones larger.
		changed := false
		for i := range a {
			for j := range a {
				if math.Abs(float64(a[i])) > math.Abs(float64(a[j]))+1e-6 {
					gi, gj := float64(b[i]/a[i]), float64(b[j]/a[j])
					if gi >= gj {
						t.Fatalf("%s: |w|=%.3f gain %.4f ≥ |w|=%.3f gain %.4f", tn.Name, math.Abs(float64(a[i])), gi, math.Abs(float64(a[j])), gj)
					}
				}
			}
			if a[i] != b[i] {
				changed = true
			}
			if (a[i] > 0) != (b[i] > 0) {
				t.Fatalf("%s: sign of %d flipped", tn.Name, i)
			}
		}
		if !changed {
			t.Errorf("%s unchanged", tn.Name)
		}
	}
	q := shnParams()
	SHN(q, 0, SHNElementwise)
	for i, v := range shnParams().Data {
		if q.Data[i] != v {
			t.Fatal("alpha 0 changed the weights")
		}
	}
}

func TestSHNScalar(t *testing.T) {
	p := shnParams()
	old := p.Clone()
	SHN(p, 0.5, SHNScalar)
	for _, tn := range p.Tensors {
		a, b := old.Slice(tn), p.Slice(tn)
		f := 1.0
		if tn.Kind == models.Matrix {
			f = 1 / (1 + 0.5*rmsOf(a))
		}
		for i := range a {
			if tn.Kind != models.Matrix && math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s changed", tn.Name)
			}
			if math.Abs(float64(b[i])-f*float64(a[i])) > 1e-6 {
				t.Fatalf("%s[%d] = %v, want %v·%v", tn.Name, i, b[i], f, a[i])
			}
		}
	}
}
