package models

import (
	"errors"
	"fmt"
)

// check reports the first thing wrong with batch b for this model.
func (m *Transformer) check(b *Batch, opt ForwardOptions) error {
	c := m.cfg
	if b == nil {
		return errors.New("models: nil batch")
	}
	if b.B < 1 || b.T < 1 {
		return fmt.Errorf("models: %s: batch shape B=%d T=%d", c.Name, b.B, b.T)
	}
	if b.T > c.Ctx {
		return fmt.Errorf("models: %s: batch T=%d exceeds the context %d", c.Name, b.T, c.Ctx)
	}
	if b.Features != nil || len(b.Inputs) != b.B*b.T {
		return fmt.Errorf("models: %s: a Transformer needs B*T=%d token Inputs (got %d inputs, %d features)", c.Name, b.B*b.T, len(b.Inputs), len(b.Features))
	}
	for i, id := range b.Inputs {
		if id < 0 || int(id) >= c.Vocab {
			return fmt.Errorf("models: %s: Inputs[%d] (row %d) = %d outside the vocabulary [0,%d)", c.Name, i, i/b.T, id, c.Vocab)
		}
	}
	if b.Lengths != nil {
		if len(b.Lengths) != b.B {
			return fmt.Errorf("models: %s: %d Lengths for %d rows", c.Name, len(b.Lengths), b.B)
		}
		for r, n := range b.Lengths {
			if n < 1 || n > b.T {
				return fmt.Errorf("models: %s: Lengths[%d] = %d outside [1,%d]", c.Name, r, n, b.T)
			}
		}
	}
	if b.Weights != nil && len(b.Weights) != b.B {
		return fmt.Errorf("models: %s: %d Weights for %d rows", c.Name, len(b.Weights), b.B)
	}
	if (opt.EmbedNoise != 0 || opt.AttnNoise != 0) && opt.RNG == nil {
		return fmt.Errorf("models: %s: noise asked for without an RNG", c.Name)
	}
	if opt.EmbedNoise < 0 || opt.AttnNoise < 0 {
		return fmt.Errorf("models: %s: negative noise (EmbedNoise %g, AttnNoise %g)", c.Name, opt.EmbedNoise, opt.AttnNoise)
	}
	switch b.Objective {
	case NextToken, Masked:
		if b.Objective == NextToken && c.Arch != Decoder {
			return fmt.Errorf("models: %s: an encoder cannot predict the next token", c.Name)
		}
		if b.Objective == Masked && c.Arch != Encoder {
			return fmt.Errorf("models: %s: a decoder has no masked-token head", c.Name)
		}
		if len(b.Targets) != b.B*b.T {
			return fmt.Errorf("models: %s: %d Targets for B*T=%d positions", c.Name, len(b.Targets), b.B*b.T)
		}
		for i, t := range b.Targets {
			if t < -1 || int(t) >= c.Vocab {
				return fmt.Errorf("models: %s: Targets[%d] (row %d) = %d outside [-1,%d)", c.Name, i, i/b.T, t, c.Vocab)
			}
		}
	case Classify:
		if len(c.Classes) == 0 {
			return fmt.Errorf("models: %s: classification batch but the config has no Classes", c.Name)
		}
		if len(b.Targets) != b.B {
			return fmt.Errorf("models: %s: %d Targets for %d rows", c.Name, len(b.Targets), b.B)
		}
		if b.Task != nil && len(b.Task) != b.B {
			return fmt.Errorf("models: %s: %d Task entries for %d rows", c.Name, len(b.Task), b.B)
		}
		for r, t := range b.Targets {
			k := 0
			if b.Task != nil {
				k = b.Task[r]
			}
			if k < 0 || k >= len(c.Classes) {
				return fmt.Errorf("models: %s: Task[%d] = %d but the model has %d heads", c.Name, r, k, len(c.Classes))
			}
			if t < -1 || int(t) >= c.Classes[k] {
				return fmt.Errorf("models: %s: Targets[%d] = %d outside [-1,%d) for task %d", c.Name, r, t, c.Classes[k], k)
			}
		}
	default:
		return fmt.Errorf("models: %s: unknown objective %d", c.Name, int(b.Objective))
	}
	return nil
}

// checkTrain is check for the training losses (ForwardBackward, Losses),
// which also refuse Batch.Outputs: a Transformer has no output mask, and
// ignoring one would train on other outputs than the caller asked for.
func (m *Transformer) checkTrain(b *Batch, opt ForwardOptions) error {
	if err := m.check(b, opt); err != nil {
		return err
	}
	if b.Outputs != 0 {
		return fmt.Errorf("models: %s: batch has Outputs = %d, but a Transformer does not support an output mask (Outputs must be 0)", m.cfg.Name, b.Outputs)
	}
	return nil
}
