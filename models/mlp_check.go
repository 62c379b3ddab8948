package models

import (
	"errors"
	"fmt"
)

func (m *MLP) check(b *Batch) error {
	if b == nil || b.B <= 0 {
		return errors.New("mlp: empty batch")
	}
	if b.Objective != Classify {
		return fmt.Errorf("mlp: objective %v not supported (classify only)", b.Objective)
	}
	if b.T != m.cfg.In {
		return fmt.Errorf("mlp: batch has T=%d features, model expects %d", b.T, m.cfg.In)
	}
	if len(b.Features) != b.B*b.T {
		return fmt.Errorf("mlp: batch has %d features, want B×T = %d", len(b.Features), b.B*b.T)
	}
	if b.Inputs != nil {
		return fmt.Errorf("mlp: batch has %d token Inputs; an MLP reads Features only", len(b.Inputs))
	}
	if len(b.Targets) != b.B {
		return fmt.Errorf("mlp: batch has %d targets, want one per row (%d)", len(b.Targets), b.B)
	}
	if b.Weights != nil && len(b.Weights) != b.B {
		return fmt.Errorf("mlp: batch has %d weights, want %d", len(b.Weights), b.B)
	}
	if !m.cfg.SharedHead {
		if b.Task == nil && len(m.heads) > 1 {
			return fmt.Errorf("mlp: batch has no Task to pick among %d heads", len(m.heads))
		}
		if b.Task != nil && len(b.Task) != b.B {
			return fmt.Errorf("mlp: batch has %d task ids, want %d", len(b.Task), b.B)
		}
	}
	for r := 0; r < b.B; r++ {
		h := 0
		if !m.cfg.SharedHead && b.Task != nil {
			h = b.Task[r]
			if h < 0 || h >= len(m.heads) {
				return fmt.Errorf("mlp: row %d has task %d, model has heads 0..%d", r, h, len(m.heads)-1)
			}
		}
		if y := int(b.Targets[r]); y >= m.heads[h].out {
			return fmt.Errorf("mlp: row %d has label %d, head %d has %d classes", r, y, h, m.heads[h].out)
		}
	}
	return nil
}

// checkOutputs checks b.Outputs of a training batch (b passed check;
// heads[r] is row r's head): 0, or at most the size of every row's head
// and above every row's label.
func (m *MLP) checkOutputs(b *Batch, heads []int) error {
	if b.Outputs == 0 {
		return nil
	}
	if b.Outputs < 0 {
		return fmt.Errorf("mlp: batch has Outputs = %d; want 0 (all outputs) or a positive number of outputs in the loss", b.Outputs)
	}
	for r, h := range heads {
		if c := m.heads[h].out; b.Outputs > c {
			return fmt.Errorf("mlp: batch has Outputs = %d but row %d's head %d has only %d outputs", b.Outputs, r, h, c)
		}
		if y := int(b.Targets[r]); y >= b.Outputs {
			return fmt.Errorf("mlp: row %d has label %d, outside the %d outputs in the loss (Batch.Outputs)", r, y, b.Outputs)
		}
	}
	return nil
}
