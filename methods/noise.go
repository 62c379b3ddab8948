package methods

import "math"

// NoiseSchedule is the std of the sleep-time noise over a sleep phase of
// Steps steps: it starts at Sigma and decays to exactly 0 at the last
// step, linearly or along a half cosine.
type NoiseSchedule struct {
	Sigma  float64
	Steps  int
	Cosine bool
}

// At returns σ(t) for step t in [0, Steps): Sigma·(1 − t/(Steps−1)) when
// linear, Sigma·(1 + cos(π·t/(Steps−1)))/2 when cosine. A one-step phase
// has σ = 0 (its only step is the last).
func (s NoiseSchedule) At(t int) float64 {
	if s.Steps <= 1 || t >= s.Steps-1 {
		return 0
	}
	if t <= 0 {
		return s.Sigma
	}
	x := float64(t) / float64(s.Steps-1)
	if s.Cosine {
		return s.Sigma * (1 + math.Cos(math.Pi*x)) / 2
	}
	return s.Sigma * (1 - x)
}
