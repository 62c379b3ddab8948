// Package methodtest is a conformance suite for continual-learning
// methods, in the style of gonum's blas/testblas: the contract a method
// registered with methods.Register must keep lives here, and a method
// proves it keeps it by calling Run from a test of its own.
//
//	func TestConformance(t *testing.T) {
//		methodtest.Run(t, methods.Default, "l2-anchor")
//	}
//
// Run trains the method with its default settings on a tiny problem of
// its own (an MLP from package models on a sequence of Gaussian-cluster
// classification tasks, Tasks long) through a loop that mirrors the
// harness's (package bench): per task BeginTask, Steps × (TrainBatch,
// ForwardBackward, AddPenalty, clipping, optimiser step), EndTask, with
// env.Step running the same step code for the method's own steps. A
// whole run takes milliseconds.
package methodtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
)

// The tiny problem every method is run on.
const (
	// Tasks is the length of the sequence: enough for a method that
	// acts only once it has an anchor or a memory of an earlier task
	// (EWC, replay) to act in two tasks.
	Tasks = 3
	// Steps is the number of wake steps per task, Batch the rows per
	// training batch.
	Steps = 20
	Batch = 16
	// Features is the input width of the MLP, Hidden its hidden width.
	Features = 8
	Hidden   = 16
	// LR is the wake learning rate (SGD with momentum 0.9), ClipNorm the
	// global gradient-norm clip.
	LR       = 0.05
	ClipNorm = 1
)

// unknownKey is a setting no method declares.
const unknownKey = "methodtest_no_such_setting"

// Run checks the method registered as name in reg, in subtests:
//
//   - defaults: reg.New(name, Config{}) succeeds, and so does the
//     Config of its documented defaults (Info.Defaults) given
//     explicitly;
//   - unknown-setting: a Config with an undeclared key is refused, and
//     the error names that key and every valid one;
//   - deterministic: two runs with the same seed end with bit-identical
//     parameters, and a run reports no error;
//   - batch-unmodified: TrainBatch leaves every batch it is given as it
//     was, both when it returns and at the end of the run (a method that
//     keeps a batch must copy what it keeps);
//   - changes-training, for a method with an Info.Baseline (one that
//     claims to do more than its baseline): after the second task its
//     parameters differ from those of its baseline's run on the same
//     seed and data. An EWC whose penalty is exactly 0 or a replay that
//     never mixes anything in fails here;
//   - checkpoint: the method implements methods.Checkpointer, and a run
//     cut in the middle of a task (after a wake step) or at a task
//     boundary (after EndTask), its state restored into a fresh instance
//     (with the parameters, the optimiser's state and env.RNG's stream,
//     as the harness restores them), ends with parameters bit-identical
//     to those of the run that was not cut. A method without the
//     interface fails here: the harness could not resume its runs;
//   - plain-first-wake, for a method whose Info.PlainFirstWake holds at
//     its defaults: in the first task's wake steps TrainBatch returns the
//     batch it was given, and after them the parameters are bit-identical
//     to those of plain fine-tuning (hooks that do nothing) on the same
//     seed and data.
//
// Every run uses the method's defaults.
func Run(t *testing.T, reg *methods.Registry, name string) {
	t.Helper()
	info, err := reg.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if c.name == "changes-training" && info.Baseline == "" || c.name == "plain-first-wake" && !info.IsPlainFirstWake(methods.Config{}) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(reg, info); err != nil {
				t.Error(err)
			}
		})
	}
}

// checks are Run's subtests, in order; each returns what it found wrong.
var checks = []struct {
	name  string
	check func(*methods.Registry, methods.Info) error
}{
	{"defaults", checkDefaults},
	{"unknown-setting", checkUnknown},
	{"deterministic", checkDeterministic},
	{"batch-unmodified", checkBatches},
	{"changes-training", checkChanges},
	{"checkpoint", checkCheckpoint},
	{"plain-first-wake", checkPlainFirstWake},
}

// RunAll runs Run over every method of reg, one subtest per method.
func RunAll(t *testing.T, reg *methods.Registry) {
	t.Helper()
	for _, name := range reg.Names() {
		t.Run(name, func(t *testing.T) { Run(t, reg, name) })
	}
}

func checkDefaults(reg *methods.Registry, info methods.Info) error {
	var errs []error
	if _, err := reg.New(info.Name, methods.Config{}); err != nil {
		errs = append(errs, fmt.Errorf("New(%q, Config{}): %w", info.Name, err))
	}
	cfg := methods.Config{}
	for k, v := range info.Defaults {
		cfg[k] = v
	}
	if _, err := reg.New(info.Name, cfg); err != nil {
		errs = append(errs, fmt.Errorf("New(%q, its documented defaults %v): %w", info.Name, cfg, err))
	}
	return errors.Join(errs...)
}

func checkUnknown(reg *methods.Registry, info methods.Info) error {
	_, err := reg.New(info.Name, methods.Config{unknownKey: "1"})
	if err == nil {
		return fmt.Errorf("New(%q, {%s: 1}) succeeded; want an error naming the valid settings", info.Name, unknownKey)
	}
	msg := err.Error()
	var errs []error
	if !strings.Contains(msg, unknownKey) {
		errs = append(errs, fmt.Errorf("error %q does not name the unknown setting %q", msg, unknownKey))
	}
	var missing []string
	for k := range info.Defaults {
		if !strings.Contains(msg, k) {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("error %q does not name the valid settings %s", msg, strings.Join(missing, ", ")))
	}
	return errors.Join(errs...)
}

func checkDeterministic(reg *methods.Registry, info methods.Info) error {
	const seed = 7
	a, b := train(reg, info.Name, seed), train(reg, info.Name, seed)
	for _, r := range []result{a, b} {
		if r.err != nil {
			return r.err
		}
	}
	for k := range a.params {
		if i := firstDiff(a.params[k], b.params[k]); i >= 0 {
			return fmt.Errorf("two runs with seed %d differ after task %d: parameter %d is %v, then %v",
				seed, k+1, i, a.params[k][i], b.params[k][i])
		}
	}
	return nil
}

func checkBatches(reg *methods.Registry, info methods.Info) error {
	r := train(reg, info.Name, 3)
	if r.err != nil {
		return r.err
	}
	return errors.Join(r.modified...)
}

func checkChanges(reg *methods.Registry, info methods.Info) error {
	const seed = 5
	m, base := train(reg, info.Name, seed), train(reg, info.Baseline, seed)
	if m.err != nil {
		return m.err
	}
	if base.err != nil {
		return fmt.Errorf("baseline %s: %w", info.Baseline, base.err)
	}
	const task = 1 // the second task
	if firstDiff(m.params[task], base.params[task]) < 0 {
		return fmt.Errorf("after task %d the parameters of %s are bit-identical to those of its baseline %s (same seed and data): "+
			"the method does not change training (a penalty of exactly 0, a memory never used?)", task+1, info.Name, info.Baseline)
	}
	return nil
}

func checkPlainFirstWake(reg *methods.Registry, info methods.Info) error {
	const seed = 13
	m := train(reg, info.Name, seed)
	if m.err != nil {
		return m.err
	}
	plain := trainWith(func() (methods.Method, error) { return plainMethod{}, nil }, "plain fine-tuning", seed, nil)
	if plain.err != nil {
		return plain.err
	}
	if m.firstWakeNew != "" {
		return fmt.Errorf("%s claims PlainFirstWake, but its TrainBatch returned another batch than the one it was given at %s", info.Name, m.firstWakeNew)
	}
	if i := firstDiff(m.firstWake, plain.firstWake); i >= 0 {
		return fmt.Errorf("%s claims PlainFirstWake, but after the first task's wake steps its parameters differ from plain fine-tuning's (same seed and data): parameter %d is %v, plain %v",
			info.Name, i, m.firstWake[i], plain.firstWake[i])
	}
	return nil
}

// plainMethod is plain fine-tuning: hooks that do nothing, no state.
type plainMethod struct{ methods.Base }

func (plainMethod) MarshalState() ([]byte, error)             { return nil, nil }
func (plainMethod) UnmarshalState(*methods.Env, []byte) error { return nil }

// firstDiff is the index of the first element that differs in its bits,
// or −1.
func firstDiff(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// result is one run of a method on the tiny problem.
type result struct {
	params   [][]float32 // the parameters after each task
	modified []error     // batches TrainBatch changed
	// firstWake is the parameters after the first task's wake steps
	// (before its EndTask); firstWakeNew names the first step of them at
	// which TrainBatch returned another batch than it was given.
	firstWake    []float32
	firstWakeNew string
	err          error
}

// train runs method name with its defaults on the tiny problem with seed
// seed. The data (tasks and the order of training batches) depend on the
// seed only, so runs of two methods with one seed see the same batches.
func train(reg *methods.Registry, name string, seed uint64) result {
	return trainCut(reg, name, seed, nil)
}

// trainCut is train, cut and restored at c (see trainWith).
func trainCut(reg *methods.Registry, name string, seed uint64, c *cut) result {
	return trainWith(func() (methods.Method, error) { return reg.New(name, methods.Config{}) }, name, seed, c)
}

// cut is where trainCut stops a run and restores it: after wake step
// step (0-based) of task task, or after the task's EndTask when step is
// Steps.
type cut struct{ task, step int }

func (c cut) String() string {
	if c.step == Steps {
		return fmt.Sprintf("after EndTask of task %d", c.task)
	}
	return fmt.Sprintf("after step %d of task %d", c.step, c.task)
}

func checkCheckpoint(reg *methods.Registry, info methods.Info) error {
	m, err := reg.New(info.Name, methods.Config{})
	if err != nil {
		return err
	}
	if _, ok := m.(methods.Checkpointer); !ok {
		return fmt.Errorf("%s (%T) does not implement methods.Checkpointer: a run of it cannot be checkpointed and resumed", info.Name, m)
	}
	const seed = 11
	whole := train(reg, info.Name, seed)
	if whole.err != nil {
		return whole.err
	}
	var errs []error
	for _, c := range []cut{{1, 7}, {0, Steps}, {2, 0}} {
		r := trainCut(reg, info.Name, seed, &c)
		if r.err != nil {
			errs = append(errs, fmt.Errorf("cut %v: %w", c, r.err))
			continue
		}
		for k := range whole.params {
			if i := firstDiff(whole.params[k], r.params[k]); i >= 0 {
				errs = append(errs, fmt.Errorf("a run cut %v and restored differs from the uncut run after task %d: parameter %d is %v, uncut %v",
					c, k, i, r.params[k][i], whole.params[k][i]))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// trainWith runs the method newMethod builds (named name in errors), cut
// and restored at c when c is not nil: the method's state, the
// parameters, the optimiser's state and env.RNG's stream are saved and
// loaded into fresh objects (a fresh model starts from another seed, so
// that anything not restored shows).
func trainWith(newMethod func() (methods.Method, error), name string, seed uint64, c *cut) result {
	var res result
	res.err = func() error {
		m, err := newMethod()
		if err != nil {
			return err
		}
		tasks := clusterTasks(seed)
		model, err := models.NewMLP(models.MLPConfig{In: Features, Hidden: []int{Hidden}, Classes: []int{2}, SharedHead: true}, seed)
		if err != nil {
			return err
		}
		opt := &models.SGD{Momentum: 0.9}
		src := rand.NewPCG(seed, 1)
		env := &methods.Env{
			Model: model,
			Cfg:   methods.TrainConfig{BatchSize: Batch, StepsPerTask: Steps, LR: LR},
			RNG:   rand.New(src),
			Logf:  func(string, ...any) {},
		}
		// restore replaces the method, model, optimiser and RNG with
		// fresh ones loaded from what the old ones saved.
		restore := func() error {
			cp, ok := m.(methods.Checkpointer)
			if !ok {
				return fmt.Errorf("%s (%T) does not implement methods.Checkpointer", name, m)
			}
			state, err := cp.MarshalState()
			if err != nil {
				return fmt.Errorf("MarshalState: %w", err)
			}
			state = slices.Clone(state)
			rng, err := src.MarshalBinary()
			if err != nil {
				return err
			}
			ost := opt.State()
			params := slices.Clone(model.Params().Data)

			fresh, err := models.NewMLP(models.MLPConfig{In: Features, Hidden: []int{Hidden}, Classes: []int{2}, SharedHead: true}, seed+1000)
			if err != nil {
				return err
			}
			copy(fresh.Params().Data, params)
			model = fresh
			env.Model = fresh
			opt = &models.SGD{Momentum: 0.9}
			if err := opt.SetState(ost); err != nil {
				return err
			}
			src = rand.NewPCG(0, 0)
			if err := src.UnmarshalBinary(rng); err != nil {
				return err
			}
			env.RNG = rand.New(src)
			if m, err = newMethod(); err != nil {
				return err
			}
			if err := m.(methods.Checkpointer).UnmarshalState(env, state); err != nil {
				return fmt.Errorf("UnmarshalState: %w", err)
			}
			return nil
		}
		// One step function for the wake steps and env.Step, as the
		// harness has.
		env.Step = func(b *models.Batch, fo models.ForwardOptions, lr float64) (float64, error) {
			loss, err := model.ForwardBackward(b, fo)
			if err != nil {
				return loss, err
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return loss, fmt.Errorf("loss %v", loss)
			}
			if pen := m.AddPenalty(env); math.IsNaN(pen) || math.IsInf(pen, 0) {
				return loss, fmt.Errorf("penalty %v", pen)
			}
			models.ClipGradNorm(model.Grads(), ClipNorm)
			opt.Step(model.Params(), model.Grads(), lr)
			return loss, nil
		}
		data := rand.New(rand.NewPCG(seed, 2))
		type given struct {
			b, before *models.Batch
			where     string
		}
		var kept []given
		for _, tk := range tasks {
			env.Tasks = append(env.Tasks, tk)
			if err := m.BeginTask(env, tk); err != nil {
				return fmt.Errorf("%s: BeginTask of task %d: %w", name, tk.idx, err)
			}
			for s := 0; s < Steps; s++ {
				where := fmt.Sprintf("task %d step %d", tk.idx, s)
				b := pick(tk.train, data, Batch)
				before := b.Clone()
				tb, err := m.TrainBatch(env, b)
				if err != nil {
					return fmt.Errorf("%s: TrainBatch at %s: %w", name, where, err)
				}
				if d := cmp.Diff(before, b); d != "" {
					res.modified = append(res.modified, fmt.Errorf("%s: TrainBatch at %s changed the batch it was given (-before +after):\n%s", name, where, d))
				}
				kept = append(kept, given{b, before, where})
				if tk.idx == tasks[0].idx && tb != b && res.firstWakeNew == "" {
					res.firstWakeNew = where
				}
				if _, err := env.Step(tb, models.ForwardOptions{}, LR); err != nil {
					return fmt.Errorf("%s: %s: %w", name, where, err)
				}
				if c != nil && c.task == tk.idx && c.step == s {
					if err := restore(); err != nil {
						return fmt.Errorf("%s: restoring %v: %w", name, *c, err)
					}
				}
			}
			if tk.idx == tasks[0].idx {
				res.firstWake = slices.Clone(model.Params().Data)
			}
			if err := m.EndTask(env, tk); err != nil {
				return fmt.Errorf("%s: EndTask of task %d: %w", name, tk.idx, err)
			}
			if c != nil && c.task == tk.idx && c.step == Steps {
				if err := restore(); err != nil {
					return fmt.Errorf("%s: restoring %v: %w", name, *c, err)
				}
			}
			res.params = append(res.params, slices.Clone(model.Params().Data))
		}
		for _, g := range kept {
			if d := cmp.Diff(g.before, g.b); d != "" {
				res.modified = append(res.modified, fmt.Errorf("%s: the batch given to TrainBatch at %s had changed by the end of the run (-before +after):\n%s", name, g.where, d))
				break
			}
		}
		return nil
	}()
	return res
}
