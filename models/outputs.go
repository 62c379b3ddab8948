package models

import (
	"errors"
	"fmt"
)

// Outputs are the head's logits at a batch's targets, as an OutputLoss
// sees them: one row of Width logits per target, in target order (each
// row with a label ≥ 0 for Classify, each position with a target ≥ 0 for
// the token objectives). The labels only choose the positions; an
// OutputLoss may ignore them.
type Outputs struct {
	Logits []float32 // len(Row)·Width
	Width  int
	// Classes[i] is the number of real logits of target i: its head's
	// classes (at most Batch.Outputs when that is set, for an MLP), or
	// the vocabulary. Logits at and after it are unused, and their
	// gradient must stay 0.
	Classes []int
	// Row[i] and Pos[i] are the batch row and position of target i (Pos
	// is 0 for Classify).
	Row, Pos []int
}

// OutputLoss computes a loss of its own from out.Logits. With dlogits
// non-nil (the layout of out.Logits, zero on entry) it also writes the
// loss's gradient with respect to each logit there.
type OutputLoss func(out *Outputs, dlogits []float32) float64

// OutputTrainer is implemented by a model that lets a method train on a
// loss of its own over the head's outputs instead of the cross-entropy:
// distillation from stored or teacher logits (LwF, DER), or the squared
// norm of the outputs (MAS importance). Both MLP and Transformer
// implement it.
type OutputTrainer interface {
	// ForwardOutputs runs a forward pass of b and calls fn on the logits
	// of b's targets. With grad it back-propagates fn's gradient and
	// overwrites Grads with it; without, Grads are left alone and fn gets
	// nil dlogits. It returns fn's loss.
	ForwardOutputs(b *Batch, opt ForwardOptions, grad bool, fn OutputLoss) (float64, error)
}

var (
	_ OutputTrainer = (*MLP)(nil)
	_ OutputTrainer = (*Transformer)(nil)
)

// errNoTargets is returned by ForwardOutputs for a batch without targets.
var errNoTargets = errors.New("batch has no targets (no label or target ≥ 0)")

// ForwardOutputs implements OutputTrainer: the logits of each row with a
// label ≥ 0, Width = the widest head, Classes the row's head size (or
// Batch.Outputs, when set and smaller).
func (m *MLP) ForwardOutputs(b *Batch, opt ForwardOptions, grad bool, fn OutputLoss) (float64, error) {
	heads, err := m.forward(b, opt, grad)
	if err != nil {
		return 0, err
	}
	stride := m.maxClasses()
	out := &Outputs{Width: stride}
	for r := 0; r < b.B; r++ {
		if b.Targets[r] < 0 {
			continue
		}
		c := m.heads[heads[r]].out
		if b.Outputs > 0 {
			c = min(c, b.Outputs)
		}
		out.Row = append(out.Row, r)
		out.Pos = append(out.Pos, 0)
		out.Classes = append(out.Classes, c)
		out.Logits = append(out.Logits, m.logits[r*stride:(r+1)*stride]...)
	}
	if len(out.Row) == 0 {
		return 0, fmt.Errorf("mlp: ForwardOutputs: %w", errNoTargets)
	}
	if !grad {
		return fn(out, nil), nil
	}
	d := make([]float32, len(out.Logits))
	loss := fn(out, d)
	clear(m.logits[:b.B*stride])
	for i, r := range out.Row {
		copy(m.logits[r*stride:r*stride+out.Classes[i]], d[i*stride:i*stride+out.Classes[i]])
	}
	m.grads.Zero()
	m.backward(b.B, heads)
	return loss, nil
}

// ForwardOutputs implements OutputTrainer: for Classify the logits of
// each labelled row (Width = the widest head), otherwise the vocabulary's
// logits at each target position (Width = Vocab; for a decoder, the
// next-token distribution).
func (m *Transformer) ForwardOutputs(b *Batch, opt ForwardOptions, grad bool, fn OutputLoss) (float64, error) {
	if err := m.checkTrain(b, opt); err != nil {
		return 0, err
	}
	m.forward(b, opt, grad)
	m.raw = true
	M := m.predict(b, false)
	m.raw = false
	if M == 0 {
		return 0, fmt.Errorf("models: %s: ForwardOutputs: %w", m.cfg.Name, errNoTargets)
	}
	a := &m.a
	out := &Outputs{Width: m.cfg.Vocab, Row: make([]int, M), Pos: make([]int, M), Classes: make([]int, M)}
	if b.Objective == Classify {
		out.Width = m.cmax()
	}
	for i, n := range a.rows {
		if b.Objective == Classify {
			out.Row[i], out.Classes[i] = n, m.cfg.Classes[task(b, n)]
		} else {
			out.Row[i], out.Pos[i], out.Classes[i] = n/b.T, n%b.T, m.cfg.Vocab
		}
	}
	out.Logits = a.logits[:M*out.Width]
	if !grad {
		return fn(out, nil), nil
	}
	a.dout = grow(a.dout, M*out.Width)
	d := a.dout[:M*out.Width]
	clear(d)
	loss := fn(out, d)
	for i, c := range out.Classes { // unused logits get no gradient
		clear(d[i*out.Width+c : (i+1)*out.Width])
	}
	copy(out.Logits, d)
	m.zeroUnwritten(b)
	m.backward(b)
	return loss, nil
}
