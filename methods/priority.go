package methods

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Priority draws indices with probability proportional to non-negative
// priorities, with replacement (prioritised experience replay, Schaul et
// al. 2016). Priorities are fixed at construction; AISP rebuilds the
// sampler whenever it re-scores its buffer, so a cumulative table with a
// binary search (O(log n) per draw) is all it needs.
type Priority struct {
	cum   []float64 // cum[i] = p_0 + … + p_i
	total float64
}

// NewPriority builds a sampler over p. Every p_i must be finite and ≥ 0,
// with a positive sum.
func NewPriority(p []float64) (*Priority, error) {
	s := &Priority{cum: make([]float64, len(p))}
	for i, v := range p {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("priority %d is %v; want a finite value ≥ 0", i, v)
		}
		s.total += v
		s.cum[i] = s.total
	}
	if !(s.total > 0) {
		return nil, fmt.Errorf("priorities of %d items sum to %v; want > 0", len(p), s.total)
	}
	return s, nil
}

// Len is the number of items.
func (s *Priority) Len() int { return len(s.cum) }

// Prob is the probability P(i) that one draw returns i.
func (s *Priority) Prob(i int) float64 {
	p := s.cum[i]
	if i > 0 {
		p -= s.cum[i-1]
	}
	return p / s.total
}

// Draw returns one index.
func (s *Priority) Draw(rng *rand.Rand) int {
	u := rng.Float64() * s.total
	i := sort.Search(len(s.cum), func(i int) bool { return s.cum[i] > u })
	if i == len(s.cum) { // u rounded up to the total
		i--
	}
	for s.Prob(i) == 0 && i > 0 { // never return a zero-priority item
		i--
	}
	return i
}

// ISWeights returns the importance-sampling weights w_i = (N·P(i))^−β of
// every item, divided by their maximum so that they lie in (0, 1] and
// only ever scale updates down (Schaul et al. 2016). β = 0 gives all 1;
// β = 1 fully corrects the sampling bias.
func (s *Priority) ISWeights(beta float64) []float64 {
	n := float64(len(s.cum))
	w := make([]float64, len(s.cum))
	mx := 0.0
	for i := range w {
		if p := s.Prob(i); p > 0 {
			w[i] = math.Pow(n*p, -beta)
			mx = math.Max(mx, w[i])
		}
	}
	for i := range w {
		w[i] /= mx
	}
	return w
}
