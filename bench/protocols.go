package bench

import (
	"context"
	"fmt"

	"github.com/sleepbench/sleepbench/models"
)

// SequenceResult is what the sequence protocol measures.
type SequenceResult struct {
	// R[i][j] is the accuracy on task j after training task i (row 0:
	// before training; row T+1, when there is a next day, after it).
	R [][]float64
	// Loss mirrors R with mean held-out cross-entropy.
	Loss [][]float64
	// NextDay is true when R has the row T+1.
	NextDay bool
}

// RunSequence trains the tasks ts in order, steps wake steps each, and
// evaluates every task before training and after each task. When next is
// not nil it then runs the "next day": one more wake period of the same
// length on the interference domain next, with the method's hooks run as
// for a task (a sleeping method sleeps after it too), and evaluates every
// task of ts again, giving row T+1.
func RunSequence(l *Loop, ts []Task, next Task, steps int) (*SequenceResult, error) {
	per := make([]int, len(ts))
	for i := range per {
		per[i] = steps
	}
	return sequence(context.Background(), l, ts, per, next, steps)
}

// RunTasks is RunSequence without a next day and with a step count per
// task: steps[i] wake steps for ts[i] (the image suites train each task
// for a number of epochs). A cancelled ctx stops it before the next task.
func RunTasks(ctx context.Context, l *Loop, ts []Task, steps []int) (*SequenceResult, error) {
	if len(steps) != len(ts) {
		return nil, fmt.Errorf("%s: %d step counts for %d tasks", l.Name, len(steps), len(ts))
	}
	return sequence(ctx, l, ts, steps, nil, 0)
}

// sequence is the loop of RunSequence and RunTasks. Its rows so far and
// the periods it has finished live in l.prog, so that a loop restored from
// a checkpoint (see checkpoint.go) continues where the checkpoint was
// taken: finished periods are skipped (their tasks still join the tasks
// seen, in order), and the period in progress resumes inside Wake.
func sequence(ctx context.Context, l *Loop, ts []Task, steps []int, next Task, nextSteps int) (*SequenceResult, error) {
	if !l.resumed {
		l.prog = progress{}
	}
	l.resumed = false
	pr := &l.prog
	add := func() error {
		acc, loss, err := l.Evaluate(ts)
		if err != nil {
			return err
		}
		pr.R = append(pr.R, acc)
		pr.Loss = append(pr.Loss, loss)
		return nil
	}
	if len(pr.R) == 0 {
		if err := add(); err != nil {
			return nil, err
		}
	}
	var periods []Period
	for i, t := range ts {
		periods = append(periods, Period{Task: t, Steps: steps[i], Label: taskLabel(i, t), Stream: uint64(i)})
	}
	if next != nil {
		periods = append(periods, Period{Task: next, Steps: nextSteps, Label: fmt.Sprintf("next day (%s)", next.Name()), Stream: uint64(len(ts))})
	}
	if pr.Done > len(periods) || len(pr.R) != pr.Done+1 {
		return nil, fmt.Errorf("%s: the checkpoint has %d periods done and %d rows of R; this run has %d periods", l.Name, pr.Done, len(pr.R), len(periods))
	}
	for k, p := range periods {
		if k < pr.Done {
			l.see(p.Task)
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
		if err := l.Train(p); err != nil {
			return nil, err
		}
		if err := add(); err != nil {
			return nil, err
		}
		if err := l.boundary(); err != nil {
			return nil, err
		}
	}
	return &SequenceResult{R: pr.R, Loss: pr.Loss, NextDay: next != nil}, nil
}

// taskLabel is the label of the period of task i (0-based) of a
// sequence; baseLabel that of the dormancy protocol's base task. Both are
// training stream 0 when i is 0: the same period (see firstwake.go).
func taskLabel(i int, t Task) string { return fmt.Sprintf("task %d (%s)", i+1, t.Name()) }
func baseLabel(t Task) string        { return fmt.Sprintf("base task (%s)", t.Name()) }

// RunDormancy trains the base task for steps wake steps, then days days:
// day d wakes for daySteps steps on others[(d−1) mod len(others)] (the
// interfering domains in rotation), without a warm-up of its own (a day
// continues the day before), and ends with the method's EndTask — the
// night, where a sleeping method sleeps. It returns the accuracy and the
// loss on the base task at day 0 and after every evalEvery-th night and
// the last (every night when evalEvery ≤ 1), with the day of each. Day 0
// is scored after the base task's wake steps and before its EndTask, so
// that it is the same point, before any sleep, for every method.
//
// How long a method sleeps is the method's business; the runner sets the
// sleeping methods' budget to Profile.SleepRatio × the period's wake steps
// through their Night hook (see Runner), and env.Cfg.StepsPerTask is
// daySteps during the days.
func RunDormancy(l *Loop, base Task, others []Task, steps, days, daySteps, evalEvery int) (*DormancyResult, error) {
	if len(others) == 0 && days > 0 {
		return nil, fmt.Errorf("%s: dormancy needs at least one interfering domain", l.Name)
	}
	if !l.resumed {
		l.prog = progress{}
	}
	l.resumed = false
	pr := &l.prog
	eval := func(day int) error {
		a, ls, err := l.Evaluate([]Task{base})
		if err != nil {
			return err
		}
		pr.R = append(pr.R, a)
		pr.Loss = append(pr.Loss, ls)
		pr.Days = append(pr.Days, day)
		return nil
	}
	if pr.Done > days+1 {
		return nil, fmt.Errorf("%s: the checkpoint has %d periods done; this run has %d", l.Name, pr.Done, days+1)
	}
	p := Period{Task: base, Steps: steps, Label: baseLabel(base), Stream: 0}
	if pr.Done == 0 {
		if err := l.Wake(p); err != nil {
			return nil, err
		}
		if err := eval(0); err != nil {
			return nil, err
		}
		if err := l.End(p); err != nil {
			return nil, err
		}
		if err := l.boundary(); err != nil {
			return nil, err
		}
	} else {
		l.see(base)
	}
	for d := 1; d <= days; d++ {
		t := others[(d-1)%len(others)]
		if d < pr.Done {
			l.see(t)
			continue
		}
		p := Period{Task: t, Steps: daySteps, Label: fmt.Sprintf("day %d (%s)", d, t.Name()), Stream: uint64(d), NoWarmup: true}
		if err := l.Train(p); err != nil {
			return nil, err
		}
		if d == days || evalEvery <= 1 || d%evalEvery == 0 {
			if err := eval(d); err != nil {
				return nil, err
			}
		}
		if err := l.boundary(); err != nil {
			return nil, err
		}
	}
	res := &DormancyResult{Days: pr.Days}
	for i := range pr.R {
		res.Acc = append(res.Acc, pr.R[i][0])
		res.Loss = append(res.Loss, pr.Loss[i][0])
	}
	return res, nil
}

// DormancyResult is what the dormancy protocol measures: the accuracy
// and loss on the base task on the days in Days (0 first, the last day
// last).
type DormancyResult struct {
	Acc, Loss []float64
	Days      []int
}

// RunCompression evaluates the loop's current model on ts as it is
// ("none"), after pruning the fraction frac of every weight matrix by
// magnitude ("prune30"), after INT4 per-row quantisation ("int4"), and
// after both with the embedding tables included ("prune30-all",
// "int4-all"). Each transform starts from the unchanged model, and the
// model's parameters are restored before it returns. share gives, per
// transform, the fraction of all parameters in the tensors it touches.
func RunCompression(l *Loop, ts []Task, frac float64) (acc map[string][]float64, share map[string]float64, err error) {
	p := l.Model.Params()
	saved := p.Clone()
	defer copy(p.Data, saved.Data)
	acc, share = map[string][]float64{}, map[string]float64{}
	for _, tr := range []struct {
		name  string
		kinds []models.Kind
		apply func()
	}{
		{NoCompression, nil, func() {}},
		{Prune30, matricesOnly, func() { Prune(p, frac, matricesOnly...) }},
		{Int4, matricesOnly, func() { QuantizeInt4(p, matricesOnly...) }},
		{Prune30All, withEmbeddings, func() { Prune(p, frac, withEmbeddings...) }},
		{Int4All, withEmbeddings, func() { QuantizeInt4(p, withEmbeddings...) }},
	} {
		copy(p.Data, saved.Data)
		tr.apply()
		a, _, err := l.Evaluate(ts)
		if err != nil {
			return nil, nil, fmt.Errorf("compression %s: %w", tr.name, err)
		}
		acc[tr.name] = a
		if tr.kinds != nil {
			share[tr.name] = Share(p, tr.kinds)
		}
	}
	return acc, share, nil
}
