package bench

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
)

// sharedRunner is a runner of the tiny real profile (every protocol) with
// a fixed clock and peak memory, so that two output folders can be
// compared byte for byte, and its progress log in log.
func sharedRunner(t *testing.T, out string, log *strings.Builder, set []string, meths ...string) *Runner {
	t.Helper()
	p := tiny(t, Overrides{Methods: meths, Set: append([]string{"steps=3", "days=2", "day_steps=2"}, set...)})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Runner{
		Profile: p, Build: Real(), Data: dataDir(t), Out: out, Jobs: 2, Cores: 2, Finish: WriteReports,
		Now: func() time.Time { return t0 }, PeakMem: func() uint64 { return 123 }, Progress: log,
	}
}

// Runs that share their first wake write the same files, byte for byte,
// as runs that each train it alone: AISP (whose wake fills and scores its
// buffer), EWC, joint and naive share one wake per protocol pair; replay
// (which mixes its buffer in from the second step) trains alone. Both
// objectives: language modelling, and classification with its heads.
func TestSharedFirstWakeIdentical(t *testing.T) {
	meths := []string{"naive", "ewc", "aisp", "joint", "replay"}
	for _, objective := range []string{LM, Classify} {
		t.Run(objective, func(t *testing.T) {
			dir := t.TempDir()
			var alone, shared strings.Builder
			set := []string{"objective=" + objective}
			a := sharedRunner(t, filepath.Join(dir, "alone"), &alone, set, meths...)
			b := sharedRunner(t, filepath.Join(dir, "shared"), &shared, set, meths...)
			a.NoSharedWake = true
			if err := a.Run(); err != nil {
				t.Fatal(err)
			}
			if err := b.Run(); err != nil {
				t.Fatal(err)
			}
			// 4 methods × (the sequence job with its compression run, the
			// dormancy run): 8 runs share one wake.
			if want := "first wake of 8 runs (custom, seed 1): trained once"; !strings.Contains(shared.String(), want) {
				t.Errorf("the progress log does not say %q:\n%s", want, shared.String())
			}
			if strings.Contains(alone.String(), "first wake of") {
				t.Errorf("NoSharedWake shared a wake:\n%s", alone.String())
			}
			want, got := tree(t, a.Out), tree(t, b.Out)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("shared first wakes changed the output (-alone +shared):\n%s", diff)
			}
		})
	}
}

// liar claims a plain first wake but pulls towards the parameters of the
// start of every task, so its penalty acts from the first step.
type liar struct {
	methods.Base
	theta []float32
}

func (m *liar) BeginTask(env *methods.Env, _ methods.TaskData) error {
	m.theta = append(m.theta[:0], env.Model.Params().Data...)
	return nil
}

func (m *liar) AddPenalty(env *methods.Env) float64 {
	g := env.Model.Grads().Data
	var pen float64
	for i, v := range env.Model.Params().Data {
		d := v - m.theta[i]
		g[i] += 0.1 * d
		pen += float64(d * d)
	}
	return pen
}

func (*liar) MarshalState() ([]byte, error)             { return nil, nil }
func (*liar) UnmarshalState(*methods.Env, []byte) error { return nil }

// copyist claims a plain first wake but trains on a copy of each batch.
type copyist struct{ liar }

func (*copyist) AddPenalty(*methods.Env) float64 { return 0 }
func (*copyist) TrainBatch(_ *methods.Env, b *models.Batch) (*models.Batch, error) {
	return b.Clone(), nil
}

// sneak claims a plain first wake and reports no penalty, but adds one
// to the gradients all the same.
type sneak struct{ liar }

func (m *sneak) AddPenalty(env *methods.Env) float64 {
	m.liar.AddPenalty(env)
	return 0
}

// mover claims a plain first wake but nudges a weight in TrainBatch.
type mover struct{ copyist }

func (*mover) TrainBatch(env *methods.Env, b *models.Batch) (*models.Batch, error) {
	env.Model.Params().Data[0] += 1e-3
	return b, nil
}

// A method that breaks its PlainFirstWake promise stops the shared wake
// with an error naming the run and what it did.
func TestSharedFirstWakeRefusesLiars(t *testing.T) {
	for _, c := range []struct {
		name string
		m    func() methods.Method
		want string
	}{
		{"liar", func() methods.Method { return &liar{} }, "sequence/custom/liar/seed1: method liar claims a plain first wake (PlainFirstWake), but its AddPenalty returned"},
		{"copyist", func() methods.Method { return &copyist{} }, "sequence/custom/copyist/seed1: method copyist claims a plain first wake (PlainFirstWake), but its TrainBatch returned another batch than it was given at step 1"},
		{"mover", func() methods.Method { return &mover{} }, "the TrainBatch or AddPenalty of one of sequence/custom/naive/seed1, sequence/custom/mover/seed1 changed the parameters at step 1"},
		{"sneak", func() methods.Method { return &sneak{} }, "the AddPenalty of one of sequence/custom/naive/seed1, sequence/custom/sneak/seed1 changed the gradients at step 2"}, // at step 1 its pull is still 0
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := &methods.Registry{}
			naive, _ := methods.Default.Lookup("naive")
			reg.Register(naive)
			reg.Register(methods.Info{Name: c.name, PlainFirstWake: methods.AlwaysPlain,
				New: func(methods.Config) (methods.Method, error) { return c.m(), nil }})
			var log strings.Builder
			r := sharedRunner(t, t.TempDir(), &log, nil, "naive", c.name)
			r.Profile.Plans = r.Profile.Plans[:1] // the sequence
			r.Build.Methods = reg
			err := r.Run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
