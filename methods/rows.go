package methods

import (
	"fmt"

	"github.com/sleepbench/sleepbench/models"
)

// Shape is what rows must share to be concatenated into one batch: the
// objective, the row length T, and whether inputs are token ids or float
// features.
type Shape struct {
	Objective models.Objective
	T         int
	Features  bool
}

// ShapeOf returns b's Shape.
func ShapeOf(b *models.Batch) Shape {
	return Shape{Objective: b.Objective, T: b.T, Features: b.Features != nil}
}

func (s Shape) String() string {
	in := "tokens"
	if s.Features {
		in = "features"
	}
	return fmt.Sprintf("%v×%d %s", s.Objective, s.T, in)
}

// targetsPerRow is the number of Targets entries of one row.
func targetsPerRow(b *models.Batch) int {
	if b.Objective == models.Classify {
		return 1
	}
	return b.T
}

// Row returns row i of b as a one-row batch holding copies of its data,
// so that it stays valid when the harness reuses b's buffers. If b has no
// Task, the row's task is task. The row keeps b's Outputs.
func Row(b *models.Batch, i, task int) *models.Batch {
	T, nt := b.T, targetsPerRow(b)
	r := &models.Batch{Objective: b.Objective, B: 1, T: T, Outputs: b.Outputs}
	if b.Inputs != nil {
		r.Inputs = append([]int32(nil), b.Inputs[i*T:(i+1)*T]...)
	}
	if b.Features != nil {
		r.Features = append([]float32(nil), b.Features[i*T:(i+1)*T]...)
	}
	if b.Lengths != nil {
		r.Lengths = []int{b.Lengths[i]}
	}
	r.Targets = append([]int32(nil), b.Targets[i*nt:(i+1)*nt]...)
	if b.Task != nil {
		r.Task = []int{b.Task[i]}
	} else {
		r.Task = []int{task}
	}
	if b.Weights != nil {
		r.Weights = []float32{b.Weights[i]}
	}
	return r
}

// Concat joins the rows of batches of one Shape into a new batch. Missing
// Lengths count as full rows and missing Weights as 1 when another batch
// has them; Task must be set on all batches or on none. Outputs is the
// largest of the batches' (0, all outputs, counting as the largest), so
// that every row's label stays inside it: replayed rows of earlier tasks
// need fewer outputs than the current task's.
func Concat(bs ...*models.Batch) (*models.Batch, error) {
	if len(bs) == 0 {
		return nil, fmt.Errorf("concat: no batches")
	}
	shape := ShapeOf(bs[0])
	out := &models.Batch{Objective: shape.Objective, T: shape.T}
	var lengths, weights, task bool
	for i, b := range bs {
		if s := ShapeOf(b); s != shape {
			return nil, fmt.Errorf("concat: batch %d is %v, batch 0 is %v", i, s, shape)
		}
		if (b.Task != nil) != (bs[0].Task != nil) {
			return nil, fmt.Errorf("concat: batch %d and batch 0 disagree on having Task ids", i)
		}
		out.B += b.B
		if i == 0 || (out.Outputs != 0 && (b.Outputs == 0 || b.Outputs > out.Outputs)) {
			out.Outputs = b.Outputs
		}
		lengths = lengths || b.Lengths != nil
		weights = weights || b.Weights != nil
		task = b.Task != nil
	}
	T, nt := shape.T, targetsPerRow(bs[0])
	if shape.Features {
		out.Features = make([]float32, 0, out.B*T)
	} else {
		out.Inputs = make([]int32, 0, out.B*T)
	}
	out.Targets = make([]int32, 0, out.B*nt)
	if lengths {
		out.Lengths = make([]int, 0, out.B)
	}
	if weights {
		out.Weights = make([]float32, 0, out.B)
	}
	if task {
		out.Task = make([]int, 0, out.B)
	}
	for _, b := range bs {
		if shape.Features {
			out.Features = append(out.Features, b.Features[:b.B*T]...)
		} else {
			out.Inputs = append(out.Inputs, b.Inputs[:b.B*T]...)
		}
		out.Targets = append(out.Targets, b.Targets[:b.B*nt]...)
		if task {
			out.Task = append(out.Task, b.Task[:b.B]...)
		}
		for r := 0; r < b.B; r++ {
			if lengths {
				l := T
				if b.Lengths != nil {
					l = b.Lengths[r]
				}
				out.Lengths = append(out.Lengths, l)
			}
			if weights {
				w := float32(1)
				if b.Weights != nil {
					w = b.Weights[r]
				}
				out.Weights = append(out.Weights, w)
			}
		}
	}
	return out, nil
}

// withTask returns b with Task set to task on every row when b has none
// (a copy of the header; the data slices are shared).
func withTask(b *models.Batch, task int) *models.Batch {
	if b.Task != nil {
		return b
	}
	c := *b
	c.Task = make([]int, b.B)
	for i := range c.Task {
		c.Task[i] = task
	}
	return &c
}
