package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/tasks"
)

// Scoring a pretraining run: the fixed validation windows and their
// mean loss and accuracy.

// Stream of the validation draws (PCG stream; the seed is 0, so every
// run and model scores the same windows of a split).
const streamPretrainValid = 0x70726576

// validationWindows draws the fixed validation batches: EvalWindows
// distinct windows of the validation split (all of them when it has
// fewer), with their masks, cut into batches of EvalBatch rows.
func validationWindows(t *tasks.Task, opt PretrainOptions) ([]*models.Batch, error) {
	n, err := countWindows(t, datasets.Validation)
	if err != nil {
		return nil, err
	}
	n = min(n, opt.EvalWindows)
	all, err := t.Validation(rand.New(rand.NewPCG(0, streamPretrainValid)), n)
	if err != nil {
		return nil, fmt.Errorf("validation windows: %w", err)
	}
	var out []*models.Batch
	for lo := 0; lo < n; lo += opt.EvalBatch {
		out = append(out, batchRows(all, lo, min(lo+opt.EvalBatch, n)))
	}
	return out, nil
}

// countWindows is the number of windows of one of t's splits, counted as
// package tasks cuts them: the rows' ids packed end to end, with the
// file's separator id between rows when it has one, in windows of Ctx+1
// (next token) or Ctx-2 (masked: [CLS] and [SEP] are added) tokens.
func countWindows(t *tasks.Task, split string) (int, error) {
	path := datasets.FilePath(t.Spec.Dir, t.Spec.Tokenizer, t.Spec.Domain, split)
	r, err := datasets.Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var total int64
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			return 0, err
		}
		total += int64(rec.Tokens())
	}
	if _, ok, _ := r.Meta().ExtraID(datasets.ExtraSepID); ok && r.NumRows() > 0 {
		total += r.NumRows() - 1
	}
	win := int64(t.Spec.Ctx + 1)
	if t.Spec.Objective == models.Masked {
		win = int64(t.Spec.Ctx - 2)
	}
	if total/win < 1 {
		return 0, fmt.Errorf("%s: %d tokens, fewer than one window of %d", path, total, win)
	}
	return int(total / win), nil
}

// batchRows returns rows [lo, hi) of b as a batch sharing b's storage.
func batchRows(b *models.Batch, lo, hi int) *models.Batch {
	T := b.T
	out := &models.Batch{Objective: b.Objective, B: hi - lo, T: T, Task: b.Task[lo:hi]}
	if b.Inputs != nil {
		out.Inputs = b.Inputs[lo*T : hi*T]
	}
	if b.Targets != nil {
		out.Targets = b.Targets[lo*T : hi*T]
	}
	if b.Lengths != nil {
		out.Lengths = b.Lengths[lo:hi]
	}
	return out
}

// scoreBatches evaluates the model on the validation batches. With
// maskID ≥ 0 (masked-token models) it also splits the targets by their
// input (PretrainScore.AtMask), from a second forward pass.
func scoreBatches(m models.Model, bs []*models.Batch, maskID int32) (PretrainScore, error) {
	var s models.Score
	var windows int
	var split MaskedSplit
	for k, b := range bs {
		sc, err := m.Evaluate(b)
		if err != nil {
			return PretrainScore{}, fmt.Errorf("batch %d: %w", k, err)
		}
		s.Correct += sc.Correct
		s.Total += sc.Total
		s.LossSum += sc.LossSum
		windows += b.B
		if maskID >= 0 && b.Objective == models.Masked {
			if err := splitByInput(m, b, maskID, &split); err != nil {
				return PretrainScore{}, fmt.Errorf("batch %d: %w", k, err)
			}
		}
	}
	if s.Total == 0 {
		return PretrainScore{}, errors.New("no validation targets")
	}
	return PretrainScore{Accuracy: float64(s.Correct) / float64(s.Total), Loss: s.LossSum / float64(s.Total),
		Correct: s.Correct, Targets: s.Total, Windows: windows, AtMask: split}, nil
}

// splitByInput adds b's targets and top-1 hits to split by what the
// input held at each target position: [MASK], the target itself, or
// another token. A hit is an argmax equal to the target, ties going to
// the lowest id as in models.Evaluate.
func splitByInput(m models.Model, b *models.Batch, maskID int32, split *MaskedSplit) error {
	ot, ok := m.(models.OutputTrainer)
	if !ok {
		return fmt.Errorf("model %s has no ForwardOutputs", m.Name())
	}
	_, err := ot.ForwardOutputs(b, models.ForwardOptions{}, false, func(out *models.Outputs, _ []float32) float64 {
		for i := range out.Row {
			p := out.Row[i]*b.T + out.Pos[i]
			row := out.Logits[i*out.Width : i*out.Width+out.Classes[i]]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			hit := 0
			if int32(best) == b.Targets[p] {
				hit = 1
			}
			switch in := b.Inputs[p]; {
			case in == maskID:
				split.MaskCorrect += hit
				split.MaskTargets++
			case in == b.Targets[p]:
				split.KeptCorrect += hit
				split.KeptTargets++
			default:
				split.RandomCorrect += hit
				split.RandomTargets++
			}
		}
		return 0
	})
	return err
}

// meanOf is the mean of x (0 when empty).
func meanOf(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
