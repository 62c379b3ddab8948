package methods

import (
	"fmt"
	"math"
)

// siDefaults are SI's documented settings.
//
//   - c: strength of the surrogate loss c·Σ_k Ω_k·(θ_k − θ*_k)².
//   - xi: ξ, the damping in Ω_k += ω_k / (Δ_k² + ξ).
//
// The defaults are those of Buzzega et al.'s tuned runs on permuted MNIST
// (c 0.5, ξ 1; their code's utils/best_args.py, aimagelab/mammoth): a
// starting point, to be tuned for another model.
var siDefaults = map[string]string{
	"c":  "0.5",
	"xi": "1",
}

// si is synaptic intelligence (Zenke, Poole & Ganguli 2017). While a task
// trains, each parameter's contribution to the drop of the loss is
// integrated along the optimisation path, ω_k += −g_k·Δθ_k per step, with
// g the gradient of the task's loss alone (before the surrogate's) and
// Δθ the step actually taken (after clipping and the optimiser). At the
// task's end Ω_k += ω_k / ((θ_k − θ*_k)² + ξ), where θ* are the
// parameters at the task's start; θ* becomes the parameters at its end,
// and ω restarts at 0. Later tasks add c·Σ Ω_k·(θ_k − θ*_k)² to the loss
// (gradient 2c·Ω·(θ − θ*)).
//
// Memory: six parameter-sized buffers (Ω, θ*, ω, θ at the task's start,
// and the previous step's parameters and task gradient). Compute: O(P)
// per step on top of naive's forward and backward.
type si struct {
	Base
	c, xi float64

	omega, theta []float32 // Ω and θ*; nil before the first task ends
	w            []float32 // ω of the current task
	prev, g      []float32 // parameters and task gradient of the last step
	have         bool      // prev and g hold a step not yet integrated
	start        []float32 // θ at the current task's start
}

func init() {
	Register(Info{
		Name:     "si",
		Summary:  "synaptic intelligence: path-integral importance Ω, penalty c·Σ Ω·(θ − θ*)²",
		Defaults: siDefaults,
		Label:    "SI",
		Rank:     12,
		Baseline: "naive",
		Cost:     "memory +6P (Ω, θ*, ω, the task's first θ, the last step's θ and gradient); compute +O(P) a step",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, siDefaults)
			m := &si{c: s.Float("c", 0, math.Inf(1)), xi: s.Float("xi", 0, math.Inf(1))}
			if err := s.Err(); err != nil {
				return nil, err
			}
			if m.xi == 0 {
				m.xi = math.SmallestNonzeroFloat32
			}
			return m, nil
		},
	})
}

// BeginTask records the task's starting parameters and restarts ω.
func (s *si) BeginTask(env *Env, _ TaskData) error {
	p := env.Model.Params().Data
	s.start = append(s.start[:0], p...)
	if len(s.w) != len(p) {
		s.w = make([]float32, len(p))
	} else {
		clear(s.w)
	}
	s.have = false
	return nil
}

// integrate adds the last step's −g·Δθ to ω.
func (s *si) integrate(p []float32) {
	if !s.have {
		return
	}
	for i, v := range p {
		s.w[i] -= s.g[i] * (v - s.prev[i])
	}
	s.have = false
}

// AddPenalty integrates the previous step, keeps this step's task
// gradient, and adds the surrogate's gradient.
func (s *si) AddPenalty(env *Env) float64 {
	p, g := env.Model.Params().Data, env.Model.Grads().Data
	s.integrate(p)
	s.prev = append(s.prev[:0], p...)
	s.g = append(s.g[:0], g...)
	s.have = true
	if s.omega == nil || s.c == 0 {
		return 0
	}
	return quadPenalty(p, g, s.omega, s.theta, s.c)
}

// EndTask integrates the last step and consolidates ω into Ω.
func (s *si) EndTask(env *Env, t TaskData) error {
	p := env.Model.Params().Data
	s.integrate(p)
	if s.omega == nil {
		s.omega = make([]float32, len(p))
	}
	var sum float64
	for i, v := range p {
		d := float64(v - s.start[i])
		add := float64(s.w[i]) / (d*d + s.xi)
		s.omega[i] += float32(add)
		sum += add
	}
	s.theta = append(s.theta[:0], p...)
	env.Logf("si: task %d (%s): Ω grew by %.3g in all (mean Ω %.3g)", t.Index(), t.Name(), sum, meanOf(s.omega))
	return nil
}

// quadPenalty adds 2c·Ω·(θ − θ*) to g and returns c·Σ Ω·(θ − θ*)², the
// surrogate of SI and MAS.
func quadPenalty(p, g, omega, theta []float32, c float64) float64 {
	c2 := float32(2 * c)
	var pen float64
	for i, v := range p {
		d := v - theta[i]
		od := omega[i] * d
		g[i] += c2 * od
		pen += float64(od) * float64(d)
	}
	return c * pen
}

func meanOf(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s / float64(max(len(x), 1))
}

// MarshalState saves Ω and θ* (nil before the first task ends), the
// task's ω and starting parameters, and the last step's parameters and
// task gradient while they wait to be integrated.
func (s *si) MarshalState() ([]byte, error) {
	w := newStateWriter("si/1")
	w.Float32s(s.omega)
	w.Float32s(s.theta)
	w.Float32s(s.w)
	w.Float32s(s.start)
	w.Bool(s.have)
	if s.have {
		w.Float32s(s.prev)
		w.Float32s(s.g)
	}
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved; env.Model gives the
// number of parameters.
func (s *si) UnmarshalState(env *Env, data []byte) error {
	n := env.Model.Params().Len()
	r := newStateReader(data, "si/1")
	omega, theta := r.vec(n, "Ω"), r.vec(n, "θ*")
	w, start := r.vec(n, "ω"), r.vec(n, "task's first θ")
	have := r.Bool()
	var prev, g []float32
	if have {
		prev, g = r.vec(n, "last step's θ"), r.vec(n, "last step's gradient")
		if r.err == nil && (prev == nil || g == nil || w == nil) {
			r.err = fmt.Errorf("a step waits to be integrated but its θ, gradient or ω is missing")
		}
	}
	if r.err == nil && (omega == nil) != (theta == nil) {
		r.err = fmt.Errorf("saved Ω and θ* disagree on whether a task has ended")
	}
	if err := r.Err(); err != nil {
		return stateErr("si", err)
	}
	s.omega, s.theta, s.w, s.start = omega, theta, w, start
	s.have, s.prev, s.g = have, prev, g
	return nil
}
