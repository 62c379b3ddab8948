package methodtest

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
)

// pull is a correct method: an L2 pull towards the parameters at the end
// of the last task (docs/PLUGINS.md's example).
type pull struct {
	methods.Base
	strength float64
	theta    []float32
}

func (m *pull) EndTask(env *methods.Env, _ methods.TaskData) error {
	m.theta = append(m.theta[:0], env.Model.Params().Data...)
	return nil
}

func (m *pull) AddPenalty(env *methods.Env) float64 {
	if m.theta == nil {
		return 0
	}
	g := env.Model.Grads().Data
	for i, v := range env.Model.Params().Data {
		g[i] += float32(m.strength) * (v - m.theta[i])
	}
	return 0
}

// MarshalState saves the anchor.
func (m *pull) MarshalState() ([]byte, error) {
	if m.theta == nil {
		return nil, nil
	}
	return binary.Append(nil, binary.LittleEndian, m.theta)
}

// UnmarshalState restores it.
func (m *pull) UnmarshalState(_ *methods.Env, data []byte) error {
	if len(data) == 0 {
		m.theta = nil
		return nil
	}
	m.theta = make([]float32, len(data)/4)
	_, err := binary.Decode(data, binary.LittleEndian, m.theta)
	return err
}

// still is a correct method without state: naive.
type still struct{ methods.Base }

func (still) MarshalState() ([]byte, error)             { return nil, nil }
func (still) UnmarshalState(*methods.Env, []byte) error { return nil }

// Broken methods, each with the bug one check exists to catch.
type (
	// zeroPenalty claims a baseline but its penalty has weight 0.
	zeroPenalty struct{ pull }
	// mutator scales the features of the batch it is given in place.
	mutator struct{ methods.Base }
	// keeper keeps the batches it is given without copying them and
	// clears their labels at the end of each task.
	keeper struct {
		methods.Base
		kept []*models.Batch
	}
	// global draws from the process's global generator.
	global struct{ methods.Base }
	// forgetful saves no anchor in its checkpoints.
	forgetful struct{ pull }
	// eager claims PlainFirstWake but anchors at the start of every
	// task, the first included, so that it pulls from the first step.
	eager struct{ pull }
	// copier claims PlainFirstWake but trains on a copy of each batch.
	copier struct{ still }
)

func (m *eager) BeginTask(env *methods.Env, _ methods.TaskData) error {
	m.theta = append(m.theta[:0], env.Model.Params().Data...)
	return nil
}

func (copier) TrainBatch(_ *methods.Env, b *models.Batch) (*models.Batch, error) {
	return b.Clone(), nil
}

func (*forgetful) MarshalState() ([]byte, error) { return nil, nil }

func (m *mutator) TrainBatch(_ *methods.Env, b *models.Batch) (*models.Batch, error) {
	for i := range b.Features {
		b.Features[i] *= 2
	}
	return b, nil
}

func (m *keeper) TrainBatch(_ *methods.Env, b *models.Batch) (*models.Batch, error) {
	m.kept = append(m.kept, b)
	return b, nil
}

func (m *keeper) EndTask(*methods.Env, methods.TaskData) error {
	for _, b := range m.kept {
		clear(b.Targets)
	}
	return nil
}

func (global) AddPenalty(env *methods.Env) float64 {
	env.Model.Grads().Data[0] += float32(rand.NormFloat64())
	return 0
}

// registry holds the correct and broken methods.
func registry() *methods.Registry {
	reg := &methods.Registry{}
	plain := func(m methods.Method) methods.Factory {
		return func(cfg methods.Config) (methods.Method, error) {
			if err := methods.Parse(cfg, nil).Err(); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	pullDefaults := map[string]string{"strength": "0.5"}
	newPull := func(cfg methods.Config) (*pull, error) {
		s := methods.Parse(cfg, pullDefaults)
		m := &pull{strength: s.Float("strength", 0, math.Inf(1))}
		return m, s.Err()
	}
	reg.Register(methods.Info{Name: "naive", New: plain(still{}), PlainFirstWake: methods.AlwaysPlain})
	reg.Register(methods.Info{Name: "pull", Defaults: pullDefaults, Baseline: "naive",
		New: func(cfg methods.Config) (methods.Method, error) { return newPull(cfg) }})
	reg.Register(methods.Info{Name: "zero-penalty", Defaults: pullDefaults, Baseline: "naive",
		New: func(cfg methods.Config) (methods.Method, error) {
			m, err := newPull(cfg)
			if err != nil {
				return nil, err
			}
			m.strength = 0 // the bug: the setting is read, then lost
			return &zeroPenalty{*m}, nil
		}})
	reg.Register(methods.Info{Name: "lax", Defaults: pullDefaults, Baseline: "naive",
		New: func(methods.Config) (methods.Method, error) { return &pull{strength: 0.5}, nil }})
	reg.Register(methods.Info{Name: "bad-default", Defaults: map[string]string{"strength": "strong"},
		New: func(cfg methods.Config) (methods.Method, error) {
			s := methods.Parse(cfg, map[string]string{"strength": "strong"})
			s.Float("strength", 0, 1)
			return methods.Base{}, s.Err()
		}})
	reg.Register(methods.Info{Name: "mutator", New: plain(&mutator{})})
	reg.Register(methods.Info{Name: "keeper", New: func(cfg methods.Config) (methods.Method, error) {
		return plain(&keeper{})(cfg)
	}})
	reg.Register(methods.Info{Name: "global", New: plain(global{})})
	reg.Register(methods.Info{Name: "no-state", New: plain(methods.Base{})})
	reg.Register(methods.Info{Name: "forgetful", Defaults: pullDefaults,
		New: func(cfg methods.Config) (methods.Method, error) {
			m, err := newPull(cfg)
			if err != nil {
				return nil, err
			}
			return &forgetful{*m}, nil
		}})
	reg.Register(methods.Info{Name: "eager", Defaults: pullDefaults, PlainFirstWake: methods.AlwaysPlain,
		New: func(cfg methods.Config) (methods.Method, error) {
			m, err := newPull(cfg)
			if err != nil {
				return nil, err
			}
			return &eager{*m}, nil
		}})
	reg.Register(methods.Info{Name: "copier", New: plain(copier{}), PlainFirstWake: methods.AlwaysPlain})
	return reg
}

// TestCatches runs every check on the correct methods, which must pass,
// and the check each broken method breaks, which must fail with the
// message shown.
func TestCatches(t *testing.T) {
	reg := registry()
	for _, name := range []string{"naive", "pull"} {
		t.Run(name, func(t *testing.T) { Run(t, reg, name) })
	}
	for _, c := range []struct{ method, check, want string }{
		{"zero-penalty", "changes-training", "bit-identical to those of its baseline naive"},
		{"lax", "unknown-setting", "succeeded"},
		{"bad-default", "defaults", `setting strength="strong"`},
		{"mutator", "batch-unmodified", "TrainBatch at task 0 step 0 changed the batch"},
		{"keeper", "batch-unmodified", "had changed by the end of the run"},
		{"global", "deterministic", "two runs with seed 7 differ after task 1"},
		{"no-state", "checkpoint", "does not implement methods.Checkpointer"},
		{"forgetful", "checkpoint", "a run cut after EndTask of task 0 and restored differs from the uncut run"},
		{"eager", "plain-first-wake", "after the first task's wake steps its parameters differ from plain fine-tuning's"},
		{"copier", "plain-first-wake", "returned another batch than the one it was given at task 0 step 0"},
	} {
		info, err := reg.Lookup(c.method)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range checks {
			if ch.name != c.check {
				continue
			}
			err := ch.check(reg, info)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s on %s: error %v, want one containing %q", c.check, c.method, err, c.want)
			}
		}
	}
}
