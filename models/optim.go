package models

import (
	"fmt"
	"math"
	"runtime"
)

// AdamWConfig holds AdamW's hyperparameters. Weight decay is decoupled
// (Loshchilov & Hutter) and applies to tensors of Kind Matrix only:
// embeddings, biases and LayerNorm parameters are not decayed.
type AdamWConfig struct {
	Beta1, Beta2, Eps, WeightDecay float64
}

// DefaultAdamW is GPT-2's and BERT's usual setting: β = (0.9, 0.999),
// ε = 1e-8, weight decay 0.01. Copy it and change the copy; never
// assign to it.
var DefaultAdamW = AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}

// AdamW is the Adam optimiser with decoupled weight decay. Its moments
// share the parameters' layout, so a method can read or reset them with
// the same offsets.
type AdamW struct {
	// Cfg holds the hyperparameters; it may be changed between steps.
	Cfg AdamWConfig
	// M and V are the first and second moments.
	M, V *Params
	// Steps counts the updates made (the bias corrections use it).
	Steps int
	jobs  []adamJob
}

// adamJob is a span of the flat buffer updated in one piece: at most
// 2¹⁶ elements of one tensor. Jobs are fixed at construction, so which
// elements take the vector path (vec.go) does not depend on threads.
type adamJob struct {
	lo, hi int
	decay  bool
}

// NewAdamW returns an optimiser for parameters with p's layout, moments
// zero.
func NewAdamW(p *Params, cfg AdamWConfig) *AdamW {
	o := &AdamW{Cfg: cfg, M: p.Like(), V: p.Like()}
	const span = 1 << 16
	for _, t := range p.Tensors {
		for lo := 0; lo < t.Size(); lo += span {
			o.jobs = append(o.jobs, adamJob{t.Offset + lo, t.Offset + min(lo+span, t.Size()), t.Kind == Matrix})
		}
	}
	return o
}

// Step updates p in place from its gradient g at learning rate lr:
// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
// θ ← θ − lr·(m̂/(√v̂ + ε) + λθ) with λ the weight decay for matrices
// (0 otherwise) and m̂, v̂ the bias-corrected moments. It panics if g's
// or the moments' layout differs from p's, a programming error.
func (o *AdamW) Step(p, g *Params, lr float64) {
	if len(p.Data) != len(g.Data) || len(p.Data) != len(o.M.Data) {
		panic(fmt.Sprintf("models: AdamW step with %d params, %d grads, %d moments", len(p.Data), len(g.Data), len(o.M.Data)))
	}
	o.Steps++
	cfg := o.Cfg
	b1, b2 := float32(cfg.Beta1), float32(cfg.Beta2)
	bc1 := 1 - math.Pow(cfg.Beta1, float64(o.Steps))
	bc2 := 1 - math.Pow(cfg.Beta2, float64(o.Steps))
	// θ ← keep·θ − (lr/bc₁)·m/(√v/√bc₂ + ε), keep = 1 − lr·λ for
	// matrices, 1 otherwise.
	plain := [8]float32{b1, 1 - b1, b2, 1 - b2, 1, float32(lr / bc1), float32(1 / math.Sqrt(bc2)), float32(cfg.Eps)}
	decayed := plain
	decayed[4] = float32(1 - lr*cfg.WeightDecay)
	x, gr, m, v := p.Data, g.Data, o.M.Data, o.V.Data
	parallel(runtime.GOMAXPROCS(0), len(o.jobs), func(_, lo, hi int) {
		for _, j := range o.jobs[lo:hi] {
			c := &plain
			if j.decay {
				c = &decayed
			}
			adamw(x[j.lo:j.hi], gr[j.lo:j.hi], m[j.lo:j.hi], v[j.lo:j.hi], c)
		}
	})
}

// ClipGradNorm scales g so that its global L2 norm is at most maxNorm and
// returns the norm before clipping. The sum runs over fixed chunks in a
// fixed order, so the result does not depend on the number of cores.
func ClipGradNorm(g *Params, maxNorm float64) (norm float64) {
	const chunk = 1 << 15
	d := g.Data
	parts := make([]float64, (len(d)+chunk-1)/chunk)
	parallel(runtime.GOMAXPROCS(0), len(parts), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			s := 0.0
			for _, v := range d[c*chunk : min((c+1)*chunk, len(d))] {
				s += float64(v) * float64(v)
			}
			parts[c] = s
		}
	})
	for _, s := range parts {
		norm += s
	}
	norm = math.Sqrt(norm)
	if norm > maxNorm && norm > 0 {
		k := float32(maxNorm / norm)
		parallel(split(runtime.GOMAXPROCS(0), len(d)), len(d), func(_, lo, hi int) {
			for i := range d[lo:hi] {
				d[lo+i] *= k
			}
		})
	}
	return norm
}

// Schedule is a learning-rate schedule: linear warmup from Peak/Warmup to
// Peak over the first Warmup steps, then a cosine decay from Peak to Min
// reached at step Total, and Min after.
type Schedule struct {
	Warmup, Total int
	Peak, Min     float64
}

// LR returns the learning rate of step (0-based).
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step+1) / float64(s.Warmup)
	}
	if step >= s.Total || s.Total <= s.Warmup {
		return s.Min
	}
	frac := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + 0.5*(s.Peak-s.Min)*(1+math.Cos(math.Pi*frac))
}
