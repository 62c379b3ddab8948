package models

import (
	"math"
	"strings"
	"testing"
)

func TestAdamW(t *testing.T) {
	p := NewLayout([]Tensor{{Name: "w", Kind: Matrix, Shape: []int{2}}, {Name: "b", Kind: Bias, Shape: []int{1}}})
	copy(p.Data, []float32{1, -2, 0.5})
	g := p.Like()
	cfg := AdamWConfig{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1}
	o := NewAdamW(p, cfg)
	// float64 reference of the documented update.
	x := []float64{1, -2, 0.5}
	m, v := make([]float64, 3), make([]float64, 3)
	grads := [][]float32{{0.5, -1, 2}, {0.1, 0.3, -0.2}, {-0.4, 0, 1}}
	lrs := []float64{0.1, 0.05, 0.01}
	for s, gr := range grads {
		copy(g.Data, gr)
		o.Step(p, g, lrs[s])
		for i := range x {
			m[i] = 0.9*m[i] + 0.1*float64(gr[i])
			v[i] = 0.99*v[i] + 0.01*float64(gr[i])*float64(gr[i])
			mh := m[i] / (1 - math.Pow(0.9, float64(s+1)))
			vh := v[i] / (1 - math.Pow(0.99, float64(s+1)))
			wd := 0.1
			if i == 2 {
				wd = 0 // a bias: not decayed
			}
			x[i] -= lrs[s] * (mh/(math.Sqrt(vh)+1e-8) + wd*x[i])
		}
	}
	for i := range x {
		if math.Abs(float64(p.Data[i])-x[i]) > 1e-6 {
			t.Errorf("param %d = %.8f, want %.8f", i, p.Data[i], x[i])
		}
	}
	if o.Steps != 3 {
		t.Errorf("Steps = %d", o.Steps)
	}
	// First step moves each parameter by lr·sign(g) (plus decay): a hand value.
	q := NewLayout([]Tensor{{Name: "w", Kind: Matrix, Shape: []int{1}}})
	q.Data[0] = 2
	gq := q.Like()
	gq.Data[0] = -3
	NewAdamW(q, AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 0, WeightDecay: 0.5}).Step(q, gq, 0.1)
	if want := float32(2 + 0.1 - 0.1*0.5*2); math.Abs(float64(q.Data[0]-want)) > 1e-6 {
		t.Errorf("first step: %v, want %v", q.Data[0], want)
	}
}

func TestClipGradNorm(t *testing.T) {
	g := NewLayout([]Tensor{{Name: "a", Shape: []int{40000}}, {Name: "b", Shape: []int{2}}})
	g.Data[5] = 3
	g.Data[40001] = 4
	if n := ClipGradNorm(g, 10); n != 5 || g.Data[5] != 3 {
		t.Errorf("norm %v, data %v (no clip expected)", n, g.Data[5])
	}
	if n := ClipGradNorm(g, 1); n != 5 || math.Abs(float64(g.Data[5])-0.6) > 1e-7 || math.Abs(float64(g.Data[40001])-0.8) > 1e-7 {
		t.Errorf("norm %v, clipped to %v %v, want 0.6 0.8", n, g.Data[5], g.Data[40001])
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Warmup: 4, Total: 14, Peak: 1, Min: 0.1}
	for _, c := range []struct {
		step int
		want float64
	}{
		{0, 0.25}, {3, 1}, {4, 1}, {9, 0.1 + 0.45}, {14, 0.1}, {100, 0.1},
		{6, 0.1 + 0.45*(1+math.Cos(math.Pi*0.2))},
	} {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LR(%d) = %v, want %v", c.step, got, c.want)
		}
	}
	for i := 5; i < 14; i++ {
		if s.LR(i) >= s.LR(i-1) {
			t.Errorf("not decreasing at %d", i)
		}
	}
}

// TestOptimizerStateRoundTrip cuts a run of each optimiser after 3 of 6
// steps, restores its State into a fresh optimiser, and checks that the
// parameters end bit-identical to the uncut run's.
func TestOptimizerStateRoundTrip(t *testing.T) {
	type stateful interface {
		Step(p, g *Params, lr float64)
		State() OptimizerState
		SetState(OptimizerState) error
	}
	layout := []Tensor{{Name: "w", Kind: Matrix, Shape: []int{3, 4}}, {Name: "b", Kind: Bias, Shape: []int{4}}}
	grad := func(g *Params, k int) {
		for i := range g.Data {
			g.Data[i] = float32(math.Sin(float64(7*k + i)))
		}
	}
	for _, c := range []struct {
		name string
		new  func(p *Params) stateful
	}{
		{"adamw", func(p *Params) stateful { return NewAdamW(p, DefaultAdamW) }},
		{"sgd-momentum", func(*Params) stateful { return &SGD{Momentum: 0.9} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := func(cut bool) []float32 {
				p, g := NewLayout(layout), NewLayout(layout)
				for i := range p.Data {
					p.Data[i] = float32(i) / 10
				}
				o := c.new(p)
				for k := 0; k < 6; k++ {
					if cut && k == 3 {
						st := o.State()
						saved := OptimizerState{Steps: st.Steps, Buffers: map[string][]float32{}}
						for n, b := range st.Buffers {
							saved.Buffers[n] = append([]float32(nil), b...)
						}
						o = c.new(p)
						if err := o.SetState(saved); err != nil {
							t.Fatal(err)
						}
					}
					grad(g, k)
					o.Step(p, g, 0.01)
				}
				return p.Data
			}
			a, b := run(false), run(true)
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("parameter %d: %v uncut, %v after restoring at step 3", i, a[i], b[i])
				}
			}
		})
	}
	o := NewAdamW(NewLayout(layout), DefaultAdamW)
	if err := o.SetState(OptimizerState{Buffers: map[string][]float32{"m": make([]float32, 2), "v": make([]float32, 16)}}); err == nil || !strings.Contains(err.Error(), `"m" has 2 values`) {
		t.Errorf("AdamW.SetState with a short m: error %v, want one naming m and its length", err)
	}
}
