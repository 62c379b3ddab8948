package models

import "fmt"

// SGD is plain stochastic gradient descent with optional heavy-ball
// momentum, in PyTorch's form: v ← μ·v + g; θ ← θ − lr·v. The zero value
// (Momentum 0) is vanilla SGD. It has the same Step signature as AdamW so
// that the harness can swap one for the other.
type SGD struct {
	// Momentum μ in [0, 1).
	Momentum float64

	v []float32 // velocity, allocated at the first step with momentum
}

// Step updates p in place from the gradient g (same layout as p). It
// panics if the layouts differ in size, which is a programming error.
func (o *SGD) Step(p, g *Params, lr float64) {
	if len(p.Data) != len(g.Data) {
		panic(fmt.Sprintf("models: SGD step with %d params and %d grads", len(p.Data), len(g.Data)))
	}
	a := float32(lr)
	if o.Momentum == 0 {
		for i, gi := range g.Data {
			p.Data[i] -= a * gi
		}
		return
	}
	if len(o.v) != len(p.Data) {
		o.v = make([]float32, len(p.Data))
	}
	mu := float32(o.Momentum)
	for i, gi := range g.Data {
		o.v[i] = mu*o.v[i] + gi
		p.Data[i] -= a * o.v[i]
	}
}
