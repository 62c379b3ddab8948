package tasks

import (
	"math"
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/models"
)

// batch builds the batch of examples idx of split s. Masks are drawn
// from rng, or, when fixed is non-nil, from a generator seeded by *fixed
// and the example's index (the same mask for an example in every call).
func (t *Task) batch(s *split, idx []int, rng *rand.Rand, fixed *uint64, rate float64) (*models.Batch, error) {
	B, T := len(idx), t.width
	task := make([]int, B)
	for i := range task {
		task[i] = t.Idx
	}
	b := &models.Batch{Objective: t.Spec.Objective, B: B, T: T, Task: task}
	switch t.Spec.Objective {
	case models.NextToken:
		b.Inputs = make([]int32, B*T)
		b.Targets = make([]int32, B*T)
		w := make([]int32, T+1)
		for i, k := range idx {
			if err := s.window(k, w); err != nil {
				return nil, err
			}
			copy(b.Inputs[i*T:], w[:T])
			copy(b.Targets[i*T:], w[1:])
		}
	case models.Masked:
		b.Inputs = make([]int32, B*T)
		b.Targets = make([]int32, B*T)
		b.Lengths = make([]int, B)
		for i, k := range idx {
			row := b.Inputs[i*T : (i+1)*T]
			row[0], row[T-1] = t.cls, t.sep
			if err := s.window(k, row[1:T-1]); err != nil {
				return nil, err
			}
			b.Lengths[i] = T
			r := rng
			if fixed != nil {
				r = rand.New(rand.NewPCG(*fixed, uint64(k)))
			}
			t.mask(r, row, b.Targets[i*T:(i+1)*T], rate)
		}
	case models.Classify:
		b.Targets = make([]int32, B)
		if t.pixels {
			b.Features = make([]float32, B*T)
			for i, k := range idx {
				rec, j, err := s.row(k)
				if err != nil {
					return nil, err
				}
				for p, v := range rec.InputIDs(j) {
					b.Features[i*T+p] = float32(v) / 255
				}
				b.Targets[i] = rec.Label(j)
			}
			return b, nil
		}
		b.Inputs = make([]int32, B*T)
		b.Lengths = make([]int, B)
		for i, k := range idx {
			rec, j, err := s.row(k)
			if err != nil {
				return nil, err
			}
			row := b.Inputs[i*T : (i+1)*T]
			ids := rec.InputIDs(j)
			n := 0
			if t.bert {
				row[0] = t.cls
				n = 1 + copy(row[1:T-1], ids)
				row[n] = t.sep
				n++
			} else {
				n = copy(row, ids)
			}
			for p := n; p < T; p++ {
				row[p] = t.pd
			}
			b.Lengths[i] = n
			b.Targets[i] = rec.Label(j)
		}
	}
	return b, nil
}

// isSpecial reports whether id is never masked (nor drawn as a random
// replacement).
func (t *Task) isSpecial(id int32) bool {
	return id == t.cls || id == t.sep || id == t.pd || id == t.msk
}

// mask applies BERT's masking to row in place, choosing the share rate of
// its positions, and writes the targets.
func (t *Task) mask(rng *rand.Rand, row, tgt []int32, rate float64) {
	cand := make([]int, 0, len(row))
	for p, id := range row {
		tgt[p] = -1
		if !t.isSpecial(id) {
			cand = append(cand, p)
		}
	}
	if len(cand) == 0 {
		return
	}
	// Choose rate of the candidates: the integer part, plus one more
	// with probability the fractional part, so the rate is exact on
	// average (plain rounding would give 5 of 36 = 13.9%); at least one.
	f := rate * float64(len(cand))
	k := int(f)
	if rng.Float64() < f-math.Floor(f) {
		k++
	}
	k = max(1, k)
	for c := 0; c < k; c++ { // partial Fisher-Yates: cand[:k] are chosen
		j := c + rng.IntN(len(cand)-c)
		cand[c], cand[j] = cand[j], cand[c]
		p := cand[c]
		tgt[p] = row[p]
		switch u := rng.Float64(); {
		case u < 0.8:
			row[p] = t.msk
		case u < 0.9:
			v := int32(rng.IntN(t.meta.VocabSize))
			for try := 0; try < 64 && t.isSpecial(v); try++ {
				v = int32(rng.IntN(t.meta.VocabSize))
			}
			if !t.isSpecial(v) {
				row[p] = v
			}
		}
	}
}
