package models

import (
	"math"
	"testing"
)

// xentOutputs is the models' own training loss written as an OutputLoss:
// Σ_i w_i·CE(z_i, y_i) / M over the M targets. ForwardOutputs with it must
// give exactly ForwardBackward's loss and gradient, which the gradient
// checks of ForwardBackward vouch for.
func xentOutputs(b *Batch) OutputLoss {
	return func(out *Outputs, d []float32) float64 {
		M := len(out.Row)
		var loss float64
		for i := 0; i < M; i++ {
			r := out.Row[i]
			y := int(b.Targets[r])
			if b.Objective != Classify {
				y = int(b.Targets[r*b.T+out.Pos[i]])
			}
			w := 1.0
			if b.Weights != nil {
				w = float64(b.Weights[r])
			}
			z := out.Logits[i*out.Width : i*out.Width+out.Classes[i]]
			mx := z[0]
			for _, v := range z {
				mx = max(mx, v)
			}
			var s float64
			for _, v := range z {
				s += math.Exp(float64(v - mx))
			}
			lse := float64(mx) + math.Log(s)
			loss += w * (lse - float64(z[y])) / float64(M)
			if d != nil {
				for k, v := range z {
					d[i*out.Width+k] = float32(w * math.Exp(float64(v)-lse) / float64(M))
				}
				d[i*out.Width+y] -= float32(w / float64(M))
			}
		}
		return loss
	}
}

func TestForwardOutputsMatchesForwardBackward(t *testing.T) {
	mlp, err := NewMLP(MLPConfig{In: 6, Hidden: []int{5, 4}, Classes: []int{3, 4}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := NewMLP(MLPConfig{In: 6, Hidden: []int{5}, Classes: []int{4}, SharedHead: true}, 4)
	if err != nil {
		t.Fatal(err)
	}
	img := func(outputs int) *Batch {
		b := &Batch{Objective: Classify, B: 4, T: 6, Targets: []int32{2, -1, 1, 0}, Task: []int{0, 1, 1, 0},
			Weights: []float32{1, 2, 0.5, 1.5}, Outputs: outputs}
		for i := 0; i < b.B*b.T; i++ {
			b.Features = append(b.Features, float32(i%7)/3-1)
		}
		return b
	}
	dec, err := NewTransformer(tinyConfig(Decoder), 5)
	if err != nil {
		t.Fatal(err)
	}
	perturb(dec, 5)
	enc, err := NewTransformer(tinyConfig(Encoder), 6)
	if err != nil {
		t.Fatal(err)
	}
	perturb(enc, 6)
	cases := []struct {
		name  string
		model interface {
			Model
			OutputTrainer
		}
		b *Batch
	}{
		{"mlp multi-head", mlp, img(0)},
		{"mlp shared head, Outputs=3", shared, img(3)},
		{"decoder next-token", dec, tinyBatch(NextToken, true)},
		{"decoder classify", dec, tinyBatch(Classify, true)},
		{"encoder masked", enc, tinyBatch(Masked, false)},
		{"encoder classify", enc, tinyBatch(Classify, false)},
	}
	for _, c := range cases {
		want, err := c.model.ForwardBackward(c.b, ForwardOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		wantG := c.model.Grads().Clone()
		got, err := c.model.ForwardOutputs(c.b, ForwardOptions{}, true, xentOutputs(c.b))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: loss %.9g, ForwardBackward %.9g", c.name, got, want)
		}
		var worst, scale float64
		for i, g := range c.model.Grads().Data {
			worst = math.Max(worst, math.Abs(float64(g-wantG.Data[i])))
			scale = math.Max(scale, math.Abs(float64(wantG.Data[i])))
		}
		if worst > 1e-5*math.Max(scale, 1e-3) {
			t.Errorf("%s: gradients differ by up to %.3g (largest %.3g)", c.name, worst, scale)
		}
		// Without grad: the same loss, Grads untouched.
		before := c.model.Grads().Clone()
		got2, err := c.model.ForwardOutputs(c.b, ForwardOptions{}, false, xentOutputs(c.b))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got2-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: loss without grad %.9g, want %.9g", c.name, got2, want)
		}
		if !equal32(before.Data, c.model.Grads().Data) {
			t.Errorf("%s: ForwardOutputs without grad changed Grads", c.name)
		}
	}
	none := img(0)
	none.Targets = []int32{-1, -1, -1, -1}
	if _, err := mlp.ForwardOutputs(none, ForwardOptions{}, true, xentOutputs(none)); err == nil {
		t.Error("a batch without targets: no error")
	}
}
