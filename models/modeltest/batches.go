package modeltest

import (
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/models"
)

// TokenBatch draws a batch of B rows of T token ids below vocab for
// objective obj, with row weights in [0.5, 2) and, when padded, row
// lengths in [T/2, T]. Next-token rows have a target at every real
// position; masked rows at about 40% of them (row 0 at least at its
// first); classification rows belong to tasks 0, 1, … in turn (len
// (classes) heads) and row 1 of three or more is unlabelled (−1).
func TokenBatch(rng *rand.Rand, obj models.Objective, B, T, vocab int, classes []int, padded bool) *models.Batch {
	b := &models.Batch{Objective: obj, B: B, T: T, Inputs: make([]int32, B*T), Weights: weights(rng, B)}
	for i := range b.Inputs {
		b.Inputs[i] = int32(rng.IntN(vocab))
	}
	n := make([]int, B)
	for r := range n {
		n[r] = T
		if padded {
			n[r] = T/2 + rng.IntN(T-T/2+1)
			n[r] = max(n[r], 1)
		}
	}
	if padded {
		b.Lengths = n
	}
	switch obj {
	case models.Classify:
		b.Targets, b.Task = labels(rng, B, classes)
	default:
		b.Targets = make([]int32, B*T)
		for r := 0; r < B; r++ {
			for t := 0; t < T; t++ {
				y := int32(-1)
				if t < n[r] && (obj == models.NextToken || rng.Float64() < 0.4 || r == 0 && t == 0) {
					y = int32(rng.IntN(vocab))
				}
				b.Targets[r*T+t] = y
			}
		}
	}
	return b
}

// FeatureBatch draws a classification batch of B rows of T Gaussian
// features, labelled as TokenBatch labels them.
func FeatureBatch(rng *rand.Rand, B, T int, classes []int) *models.Batch {
	b := &models.Batch{Objective: models.Classify, B: B, T: T, Features: make([]float32, B*T), Weights: weights(rng, B)}
	for i := range b.Features {
		b.Features[i] = float32(rng.NormFloat64())
	}
	b.Targets, b.Task = labels(rng, B, classes)
	return b
}

func weights(rng *rand.Rand, B int) []float32 {
	w := make([]float32, B)
	for r := range w {
		w[r] = float32(0.5 + 1.5*rng.Float64())
	}
	return w
}

// labels gives row r task r mod len(classes) and a label of that task's
// head; row 1 of three or more is unlabelled.
func labels(rng *rand.Rand, B int, classes []int) ([]int32, []int) {
	y, task := make([]int32, B), make([]int, B)
	for r := range y {
		task[r] = r % len(classes)
		y[r] = int32(rng.IntN(classes[task[r]]))
	}
	if B >= 3 {
		y[1] = -1
	}
	return y, task
}
