package models

import "fmt"

// OptimizerState is what an optimiser carries from one step to the next,
// for checkpoints: its step count and its buffers by name, each as long
// as the parameters (or empty when not allocated yet). The slices of
// State are the optimiser's own, valid until its next step; SetState
// copies.
type OptimizerState struct {
	Steps   int
	Buffers map[string][]float32
}

// State returns AdamW's step count and moments ("m", "v").
func (o *AdamW) State() OptimizerState {
	return OptimizerState{Steps: o.Steps, Buffers: map[string][]float32{"m": o.M.Data, "v": o.V.Data}}
}

// SetState restores a State of an AdamW over the same layout.
func (o *AdamW) SetState(s OptimizerState) error {
	if len(s.Buffers) != 2 {
		return fmt.Errorf("AdamW state: %d buffers, want m and v", len(s.Buffers))
	}
	for name, dst := range map[string][]float32{"m": o.M.Data, "v": o.V.Data} {
		src, ok := s.Buffers[name]
		if !ok {
			return fmt.Errorf("AdamW state: no buffer %q", name)
		}
		if len(src) != len(dst) {
			return fmt.Errorf("AdamW state: buffer %q has %d values, the parameters %d", name, len(src), len(dst))
		}
	}
	if s.Steps < 0 {
		return fmt.Errorf("AdamW state: step count %d", s.Steps)
	}
	copy(o.M.Data, s.Buffers["m"])
	copy(o.V.Data, s.Buffers["v"])
	o.Steps = s.Steps
	return nil
}

// State returns SGD's momentum buffer ("velocity", empty before the
// first step with momentum). SGD counts no steps.
func (o *SGD) State() OptimizerState {
	return OptimizerState{Buffers: map[string][]float32{"velocity": o.v}}
}

// SetState restores a State of an SGD; the velocity must be empty or as
// long as the parameters it will step (checked at that step).
func (o *SGD) SetState(s OptimizerState) error {
	v, ok := s.Buffers["velocity"]
	if !ok || len(s.Buffers) != 1 {
		return fmt.Errorf("SGD state: want one buffer, velocity; got %d", len(s.Buffers))
	}
	if len(v) == 0 {
		o.v = nil
		return nil
	}
	o.v = append(o.v[:0], v...)
	return nil
}
