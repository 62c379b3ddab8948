package methods

import (
	"fmt"

	"github.com/sleepbench/sleepbench/models"
)

// joint is multitask training on every task seen so far, the upper
// bound of a sequence: each training batch is replaced by an equal mix of
// rows of all tasks in env.Tasks, with the same total number of rows.
//
// The current task's share is cut from the harness's own batch (its
// stream is that task's data); every earlier task's share comes from its
// Sample. When the rows do not split evenly, the remainder goes one row
// each to tasks in an order that rotates from step to step, so that no
// task is favoured over a run.
type joint struct {
	Base
	task int // index of the current task
	step int
}

func init() {
	Register(Info{
		Name:           "joint",
		Summary:        "multitask training on all tasks seen so far (upper bound)",
		Defaults:       map[string]string{},
		Label:          "joint (upper bound)",
		Rank:           60,
		PlainFirstWake: AlwaysPlain,
		Baseline:       "naive",
		New: func(cfg Config) (Method, error) {
			if err := Parse(cfg, nil).Err(); err != nil {
				return nil, err
			}
			return &joint{}, nil
		},
	})
}

func (j *joint) BeginTask(_ *Env, t TaskData) error {
	j.task = t.Index()
	return nil
}

func (j *joint) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	var past []TaskData
	for _, t := range env.Tasks {
		if t.Index() != j.task {
			past = append(past, t)
		}
	}
	if len(past) == 0 {
		return b, nil
	}
	k := len(past) + 1 // the current task is share k-1
	shares := make([]int, k)
	for i := range shares {
		shares[i] = b.B / k
	}
	for r := 0; r < b.B%k; r++ {
		shares[(j.step+r)%k]++
	}
	j.step++
	parts := make([]*models.Batch, 0, k)
	for i, t := range past {
		if shares[i] == 0 {
			continue
		}
		s, err := t.Sample(env.RNG, shares[i])
		if err != nil {
			return nil, fmt.Errorf("joint: sampling %d rows of task %d (%s): %w", shares[i], t.Index(), t.Name(), err)
		}
		parts = append(parts, withTask(s, t.Index()))
	}
	if n := shares[k-1]; n > 0 {
		parts = append(parts, withTask(firstRows(b, n), j.task))
	}
	return Concat(parts...)
}

// firstRows returns a batch header over b's first n rows (sharing data).
func firstRows(b *models.Batch, n int) *models.Batch {
	c := *b
	c.B = n
	nt := targetsPerRow(b)
	if b.Inputs != nil {
		c.Inputs = b.Inputs[:n*b.T]
	}
	if b.Features != nil {
		c.Features = b.Features[:n*b.T]
	}
	c.Targets = b.Targets[:n*nt]
	if b.Lengths != nil {
		c.Lengths = b.Lengths[:n]
	}
	if b.Task != nil {
		c.Task = b.Task[:n]
	}
	if b.Weights != nil {
		c.Weights = b.Weights[:n]
	}
	return &c
}

// MarshalState saves the current task and the step counter that rotates
// the remainder rows.
func (j *joint) MarshalState() ([]byte, error) {
	w := newStateWriter("joint/1")
	w.Int(j.task)
	w.Int(j.step)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved.
func (j *joint) UnmarshalState(_ *Env, data []byte) error {
	r := newStateReader(data, "joint/1")
	task, step := r.Int(), r.Int()
	if err := r.Err(); err != nil {
		return stateErr("joint", err)
	}
	j.task, j.step = task, step
	return nil
}
