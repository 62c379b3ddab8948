package methods

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/sleepbench/sleepbench/models"
)

// sleepSpec configures the offline replay of one sleep: AISP's active
// replay, or, with prioritized, reverse and noise off, the uniform replay
// of its compute-matched control. Both methods run this one loop so that
// they differ only by these switches.
type sleepSpec struct {
	steps int     // optimiser steps (SleepSteps)
	lr    float64 // sleep learning rate
	rows  int     // rows per step (env.Cfg.BatchSize)

	// Priority sampling: p_i = max(0, loss_now_i − loss_stored_i) + eps,
	// importance weights (N·P(i))^−beta divided by their mean within each
	// batch; loss_now re-scored at the start and every refresh steps (0:
	// only at the start).
	prioritized bool
	eps, beta   float64
	refresh     int

	// Reverse replay: of the cycles of cycleSteps steps, a fraction
	// reverseFraction walks the buffer newest → oldest.
	reverseFraction float64
	cycleSteps      int
	reverseTokens   bool // also reverse each row's token order (ablation)

	// Noise during the sleep's forward passes, decaying to 0 at the last
	// step; zero Sigma means none.
	embedNoise, attnNoise NoiseSchedule
}

// sleepStats reports what a sleep did (for logs and tests).
type sleepStats struct {
	steps, reverse int
	embed, attn    []float64 // noise std passed at each step
	lossSum        float64   // Σ of the steps' batch losses
	forgotten      int       // rows whose loss rose since storage, at the start
	// Σ and count of the importance weights drawn, before each batch's
	// normalisation to mean 1.
	rawWeightSum float64
	rawWeights   int
}

// noisy counts the steps whose embedding or attention noise was above 0.
func (st sleepStats) noisy() int {
	n := 0
	for i := range st.embed {
		if st.embed[i] > 0 || st.attn[i] > 0 {
			n++
		}
	}
	return n
}

// meanRawWeight is the mean importance weight drawn before the per-batch
// normalisation; 1 when no step was weighted (uniform or reverse replay).
func (st sleepStats) meanRawWeight() float64 {
	if st.rawWeights == 0 {
		return 1
	}
	return st.rawWeightSum / float64(st.rawWeights)
}

// reverseCycle says whether cycle c replays newest → oldest: when
// round((c+1)·f) > round(c·f). This spreads the reverse cycles evenly
// and makes their number round(C·f) over any first C cycles (3 of every
// 10 for f = 0.3, at cycles 1, 4 and 8).
func reverseCycle(c int, f float64) bool {
	return math.Round(float64(c+1)*f) > math.Round(float64(c)*f)
}

// runSleep replays mem for sp.steps steps through env.Step.
func runSleep(env *Env, mem *memory, sp sleepSpec) (sleepStats, error) {
	var st sleepStats
	if sp.steps <= 0 || mem.Len() == 0 {
		return st, nil
	}
	if sp.rows <= 0 {
		return st, fmt.Errorf("sleep needs a positive batch size, env.Cfg.BatchSize is %d", sp.rows)
	}
	// The noise has its own stream, split from env.RNG, so that switching
	// noise on or off leaves every other draw of the run unchanged.
	noiseRNG := rand.New(rand.NewPCG(env.RNG.Uint64(), env.RNG.Uint64()))

	var pri *priorities
	score := func() error {
		now, err := mem.losses(env.Model, nil, sp.rows)
		if err != nil {
			return err
		}
		pri, err = newPriorities(mem, now, sp.eps, sp.beta)
		return err
	}
	if sp.prioritized {
		if err := score(); err != nil {
			return st, err
		}
		st.forgotten = pri.forgotten
	}

	// Newest first, for reverse cycles.
	order := make([]int, mem.Len())
	for i := range order {
		order[i] = i
	}
	items := mem.res.Items()
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(items[b].seq, items[a].seq) })
	cursor := 0

	for s := 0; s < sp.steps; s++ {
		if sp.prioritized && sp.refresh > 0 && s > 0 && s%sp.refresh == 0 {
			if err := score(); err != nil {
				return st, err
			}
		}
		var (
			b   *models.Batch
			err error
		)
		reverse := sp.reverseFraction > 0 && sp.cycleSteps > 0 && reverseCycle(s/sp.cycleSteps, sp.reverseFraction)
		switch {
		case reverse:
			var idx []int
			idx, cursor = nextNewest(items, order, cursor, sp.rows)
			if b, err = mem.batch(idx); err != nil {
				return st, err
			}
			if sp.reverseTokens {
				if err := reverseRows(b); err != nil {
					return st, err
				}
			}
			st.reverse++
		case sp.prioritized:
			idx, w, raw := pri.draw(env.RNG, sp.rows)
			if b, err = mem.batch(idx); err != nil {
				return st, err
			}
			b.Weights = w
			st.rawWeightSum += raw
			st.rawWeights += len(w)
		default:
			if b, err = mem.batch(mem.drawAny(env.RNG, sp.rows)); err != nil {
				return st, err
			}
		}
		opt := models.ForwardOptions{
			EmbedNoise: float32(sp.embedNoise.At(s)),
			AttnNoise:  float32(sp.attnNoise.At(s)),
		}
		if opt.EmbedNoise != 0 || opt.AttnNoise != 0 {
			opt.RNG = noiseRNG
		}
		st.embed = append(st.embed, float64(opt.EmbedNoise))
		st.attn = append(st.attn, float64(opt.AttnNoise))
		loss, err := env.Step(b, opt, sp.lr)
		if err != nil {
			return st, fmt.Errorf("sleep step %d of %d: %w", s+1, sp.steps, err)
		}
		st.lossSum += loss
		st.steps++
	}
	return st, nil
}

// nextNewest takes up to n rows of one shape from order (newest first)
// starting at cursor, wrapping around at most once, and returns them with
// the cursor after the last row looked at.
func nextNewest(items []entry, order []int, cursor, n int) ([]int, int) {
	shape := items[order[cursor%len(order)]].shape
	var idx []int
	for k := 0; k < len(order) && len(idx) < n; k++ {
		i := order[cursor%len(order)]
		cursor = (cursor + 1) % len(order)
		if items[i].shape == shape {
			idx = append(idx, i)
		}
	}
	return idx, cursor
}

// reverseRows reverses each row's token (or feature) order within its
// real length, in place on b's own copies; Masked targets move with
// their tokens. Refused for next-token rows: reversed text would teach a
// decoder to predict backwards.
func reverseRows(b *models.Batch) error {
	if b.Objective == models.NextToken {
		return errors.New("reverse_tokens is refused for next-token rows")
	}
	for r := 0; r < b.B; r++ {
		n := b.T
		if b.Lengths != nil {
			n = b.Lengths[r]
		}
		lo := r * b.T
		if b.Features != nil {
			slices.Reverse(b.Features[lo : lo+n])
		} else {
			slices.Reverse(b.Inputs[lo : lo+n])
		}
		if b.Objective == models.Masked {
			slices.Reverse(b.Targets[lo : lo+n])
		}
	}
	return nil
}

// priorities is AISP's forgetting-aware sampler over the buffer: one
// sampler per row shape and one over the shapes' total priority, so that
// a row is drawn with the global probability P(i) = p_i / Σ_j p_j while
// each batch holds rows of one shape.
type priorities struct {
	groups    [][]int
	samplers  []*Priority
	mass      *Priority
	weights   []float64 // importance weight of each buffer row
	forgotten int
}

func newPriorities(mem *memory, now []float64, eps, beta float64) (*priorities, error) {
	items := mem.res.Items()
	p := make([]float64, len(items))
	pr := &priorities{}
	for i, e := range items {
		d := now[i] - e.stored
		if math.IsNaN(d) || d < 0 {
			d = 0
		}
		if d > 0 {
			pr.forgotten++
		}
		p[i] = d + eps
	}
	all, err := NewPriority(p)
	if err != nil {
		return nil, fmt.Errorf("buffer priorities: %w", err)
	}
	pr.weights = all.ISWeights(beta)
	byShape := map[Shape]int{}
	var masses []float64
	for i, e := range items {
		g, ok := byShape[e.shape]
		if !ok {
			g = len(pr.groups)
			byShape[e.shape] = g
			pr.groups = append(pr.groups, nil)
			masses = append(masses, 0)
		}
		pr.groups[g] = append(pr.groups[g], i)
		masses[g] += p[i]
	}
	for _, idx := range pr.groups {
		gp := make([]float64, len(idx))
		for k, i := range idx {
			gp[k] = p[i]
		}
		s, err := NewPriority(gp)
		if err != nil {
			return nil, err
		}
		pr.samplers = append(pr.samplers, s)
	}
	if pr.mass, err = NewPriority(masses); err != nil {
		return nil, err
	}
	return pr, nil
}

// draw returns n buffer rows of one shape drawn with replacement by
// priority, their importance weights divided by the batch's mean weight
// (so that the weights average 1 and a prioritised step is as large as
// a uniform one), and the sum of the weights before that division.
func (pr *priorities) draw(rng *rand.Rand, n int) (idx []int, w []float32, rawSum float64) {
	g := pr.mass.Draw(rng)
	idx = make([]int, n)
	for k := range idx {
		i := pr.groups[g][pr.samplers[g].Draw(rng)]
		idx[k] = i
		rawSum += pr.weights[i]
	}
	w = make([]float32, n)
	mean := rawSum / float64(n)
	for k, i := range idx {
		w[k] = float32(pr.weights[i] / mean)
	}
	return idx, w, rawSum
}
