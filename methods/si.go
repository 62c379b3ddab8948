package methods

import (
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
