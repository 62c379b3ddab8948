package methods

import (
	"fmt"
	"math"
)

// siDefaults are SI's documented settings.
//
//   - c: strength of the surrogate loss c·Σ_k Ω_k·(θ_k − θ*_k)².
//   - xi: ξ, the damping in Ω_k += ω_k / (Δ_k² + ξ).
//   - omega_grad: the gradient g of the path integral ω_k += −g_k·Δθ_k:
//     "task" (Zenke et al.'s: the gradient of the task's loss alone,
//     before the surrogate's) or "step" (the gradient the step applies:
//     the task's and the surrogate's, after clip; with plain SGD,
//     Δθ = −lr·g, so ω_k += lr·g_k², as Buzzega et al.'s code computes
//     it, models/si.py of aimagelab/mammoth).
//   - clip: clip every component of the step's gradient (task and
//     surrogate) to [−clip, clip] before the optimiser, as Buzzega et
//     al.'s SI does with clip 1 (clip_grad_value_); 0 (the default)
//     clips nothing. The harness's own clip (a global norm) comes after.
//
// The defaults of c and ξ are those of Buzzega et al.'s tuned runs on
// permuted MNIST (c 0.5, ξ 1; their code's utils/best_args.py,
// aimagelab/mammoth): a starting point, to be tuned for another model.
var siDefaults = map[string]string{
	"c":          "0.5",
	"xi":         "1",
	"omega_grad": "task",
	"clip":       "0",
}

// si is synaptic intelligence (Zenke, Poole & Ganguli 2017). While a task
// trains, each parameter's contribution to the drop of the loss is
// integrated along the optimisation path, ω_k += −g_k·Δθ_k per step, with
// g the gradient of the task's loss alone (before the surrogate's; or,
// with omega_grad=step, the gradient the step applies) and Δθ the step
// actually taken (after clipping and the optimiser). At the
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
	c, xi    float64
	stepGrad bool    // omega_grad=step
	clip     float32 // 0: none

	omega, theta []float32 // Ω and θ*; nil before the first task ends
	w            []float32 // ω of the current task
	prev, g      []float32 // parameters and task gradient of the last step
	have         bool      // prev and g hold a step not yet integrated
	start        []float32 // θ at the current task's start
}

func init() {
	Register(Info{
		Name:           "si",
		Summary:        "synaptic intelligence: path-integral importance Ω, penalty c·Σ Ω·(θ − θ*)²",
		Defaults:       siDefaults,
		Label:          "SI",
		Rank:           12,
		PlainFirstWake: AlwaysPlain,
		Baseline:       "naive",
		Cost:           "memory +6P (Ω, θ*, ω, the task's first θ, the last step's θ and gradient); compute +O(P) a step",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, siDefaults)
			m := &si{c: s.Float("c", 0, math.Inf(1)), xi: s.Float("xi", 0, math.Inf(1)),
				stepGrad: s.Choice("omega_grad", "task", "step") == "step", clip: float32(s.Float("clip", 0, math.MaxFloat32))}
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

// AddPenalty integrates the previous step, adds the surrogate's
// gradient, clips (clip > 0), and keeps this step's gradient for the
// path integral: the task's alone (omega_grad=task, kept before the
// surrogate's is added) or the one the step applies (omega_grad=step).
func (s *si) AddPenalty(env *Env) float64 {
	p, g := env.Model.Params().Data, env.Model.Grads().Data
	s.integrate(p)
	s.prev = append(s.prev[:0], p...)
	if !s.stepGrad {
		s.g = append(s.g[:0], g...)
	}
	s.have = true
	var pen float64
	if s.omega != nil && s.c != 0 {
		pen = quadPenalty(p, g, s.omega, s.theta, s.c)
	}
	if s.clip > 0 {
		for i, v := range g {
			g[i] = min(max(v, -s.clip), s.clip)
		}
	}
	if s.stepGrad {
		s.g = append(s.g[:0], g...)
	}
	return pen
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
