package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
)

// Shared first wakes. The sequence protocol's first task and the
// dormancy protocol's base task are the same period: the first task of
// the order, Profile.Steps wake steps, training stream 0, the same
// warm-up. A run whose method trains as naive fine-tuning until its first
// EndTask (methods.Info.PlainFirstWake: naive, EWC, AISP and its ladder,
// joint, ...) therefore reaches the end of those steps with the same
// parameters and optimiser state as every other such run of its model,
// seed and task order; only the methods' own records (a buffer filled as
// the batches passed) and env.RNG streams differ.
//
// So before the runs start, the runner trains that wake once per group
// of two or more such runs that have neither a result file nor a
// checkpoint: one model, one optimiser, one data stream, and on every
// batch the hooks of each run's method in turn, each with its own
// methods.Env and env.RNG stream, as the run alone would call them. Then
// it writes each run's mid-run checkpoint at that point (checkpoint.go),
// with the held-out scores before training (row 0 of a sequence run's
// matrices) that the wake's model also shares, and each run resumes from
// its checkpoint. The result files are bit-identical to those of runs
// that trained alone (TestSharedFirstWakeIdentical); a run's
// wall_seconds counts the whole shared wake.
//
// As it goes it checks the rules a PlainFirstWake method promises and
// stops with an error naming the run when one is broken: TrainBatch
// returns the batch it was given, unchanged; AddPenalty returns 0 and
// leaves the gradients alone; no hook changes the parameters or takes an
// env.Step.

// wakeGroup is the jobs that share one first wake: each job's first run
// and its method's config.
type wakeGroup struct {
	runs []wakeRun
}

type wakeRun struct {
	spec RunSpec
	cfg  methods.Config
}

// wakeGroups groups the jobs of todo that can share their first wake:
// a sequence, compression or dormancy job whose method's first wake is
// plain (with the run's settings) and whose lead run has no checkpoint
// yet, by model, seed and task order. Groups of one are left out.
func (r *Runner) wakeGroups(todo [][]RunSpec) ([]wakeGroup, error) {
	if r.NoSharedWake || r.Profile.Steps <= 0 {
		return nil, nil
	}
	var groups []wakeGroup
	index := map[string]int{}
	for _, j := range todo {
		s := j[0]
		info, err := r.Build.Methods.Lookup(s.Method)
		if err != nil {
			return nil, err
		}
		cfg, err := r.methodConfig(s.Model, s.Method, s.Protocol)
		if err != nil {
			return nil, err
		}
		if !info.IsPlainFirstWake(cfg) {
			continue
		}
		if _, err := os.Stat(r.checkpointPath(s)); err == nil {
			continue // it resumes from its own checkpoint
		}
		key := fmt.Sprintf("%s|%d|%d", s.Model, s.Seed, s.OrderIndex)
		g, ok := index[key]
		if !ok {
			g = len(groups)
			index[key] = g
			groups = append(groups, wakeGroup{})
		}
		groups[g].runs = append(groups[g].runs, wakeRun{s, cfg})
	}
	var out []wakeGroup
	for _, g := range groups {
		if len(g.runs) >= 2 {
			out = append(out, g)
		}
	}
	return out, nil
}

// shareFirstWakes trains the shared first wake of every group of todo
// (wakeGroups) and leaves each of its runs a checkpoint to resume from.
func (r *Runner) shareFirstWakes(todo [][]RunSpec) error {
	groups, err := r.wakeGroups(todo)
	if err != nil {
		return err
	}
	var fns []func() error
	for _, g := range groups {
		fns = append(fns, func() error { return r.shareFirstWake(g) })
	}
	return r.pool(fns)
}

// sharer is one run of a shared first wake: its method, with an Env and
// env.RNG stream of its own.
type sharer struct {
	wakeRun
	m      methods.Method
	env    *methods.Env
	src    *rand.PCG
	config map[string]string
	lock   *runLock
}

// shareFirstWake trains the first wake of group g once, calling every
// run's hooks, and writes each run's checkpoint at its end.
func (r *Runner) shareFirstWake(g wakeGroup) error {
	start := r.now()
	var runs []*sharer
	defer func() {
		for _, s := range runs {
			s.lock.release(r)
		}
	}()
	for _, w := range g.runs {
		lock, err := r.lockRun(w.spec)
		if errors.Is(err, errBusy) {
			continue // runJob notes it
		}
		if err != nil {
			return err
		}
		runs = append(runs, &sharer{wakeRun: w, lock: lock})
	}
	if len(runs) < 2 {
		return nil // the run trains alone
	}
	lead := runs[0].spec
	o, _, err := r.openRun(lead)
	if err != nil {
		return err
	}
	defer o.close()
	l := o.loop
	l.Name = fmt.Sprintf("first wake of %d runs (%s, seed %d)", len(runs), lead.Model, lead.Seed)
	if err := checkpointable(l); err != nil {
		return fmt.Errorf("%s: %w", l.Name, err)
	}
	minfo, _ := r.Build.Describe(lead.Model) // validated before any run
	loaded := o.config["init_checkpoint"]
	sequence := false
	for _, s := range runs {
		var err error
		if s.m, err = r.Build.Methods.New(s.spec.Method, s.cfg); err != nil {
			return fmt.Errorf("%s: %w", s.spec.Name(), err)
		}
		if _, ok := s.m.(methods.Checkpointer); !ok {
			return fmt.Errorf("%s: method %T does not implement methods.Checkpointer, so it cannot share its first wake", s.spec.Name(), s.m)
		}
		s.config = r.fullConfig(s.spec, minfo, s.cfg, loaded)
		s.src = rand.NewPCG(lead.Seed, streamMethod)
		name := s.spec.Name()
		s.env = &methods.Env{
			Model: l.Model,
			RNG:   rand.New(s.src),
			Logf:  l.env.Logf,
			Step: func(*models.Batch, models.ForwardOptions, float64) (float64, error) {
				return 0, fmt.Errorf("%s: method %s claims a plain first wake (PlainFirstWake) but took an optimiser step (env.Step) during it", name, s.spec.Method)
			},
		}
		if r.track != nil {
			s.env.Logf = func(format string, args ...any) { r.track.log(name+": "+format, args...) }
		}
		sequence = sequence || s.spec.Protocol != Dormancy
	}
	// Row 0 of the sequence runs: every task before training.
	var acc0, loss0 []float64
	if sequence {
		if acc0, loss0, err = l.Evaluate(o.order); err != nil {
			return err
		}
	}
	fan := &fanOut{runs: runs, model: l.Model}
	l.Method = fan
	if r.track != nil {
		// Each step advances every run's planned work: weigh it so for
		// the ETA.
		name := l.Name
		r.track.begin(name, r.cost(lead.Model)*float64(len(runs)))
		defer r.track.drop(name)
		l.Report = func(pr Progress) { r.track.update(name, pr) }
	}
	first := o.order[0]
	p := Period{Task: first, Steps: r.Profile.Steps, Label: fmt.Sprintf("first wake (%s)", first.Name()), Stream: 0}
	if err := l.Wake(p); err != nil {
		return err
	}
	if fan.err != nil {
		return fan.err
	}
	wall := r.now().Sub(start).Seconds()
	for _, s := range runs {
		cur := *l.cur
		prog := progress{}
		if s.spec.Protocol == Dormancy {
			cur.Label = baseLabel(first)
		} else {
			cur.Label = taskLabel(0, first)
			prog.R, prog.Loss = [][]float64{acc0}, [][]float64{loss0}
		}
		view := &Loop{Model: l.Model, Method: s.m, Opt: l.Opt, env: s.env, src: s.src, prog: prog, at: l.at, cur: &cur,
			Steps: l.Steps, Tokens: l.Tokens, Periods: l.Periods}
		name := s.spec.Name()
		if err := saveCheckpoint(r.checkpointPath(s.spec), name, settingsHash(s.config), view, wall, r.peak()); err != nil {
			return err
		}
		if r.afterCheckpoint != nil {
			if err := r.afterCheckpoint(name); err != nil {
				return err
			}
		}
	}
	r.track.log("%s: trained once, %d steps; each run resumes from its checkpoint", l.Name, p.Steps)
	return nil
}

// fanOut is the method of a shared first wake: each hook calls the hook
// of every run's method in turn, each with the run's own Env, and checks
// that the methods keep their PlainFirstWake promise.
type fanOut struct {
	runs  []*sharer
	model models.Model
	step  int
	err   error // the first broken promise; stops the wake at the next step

	params, grads uint64 // bitsHash of each before the hooks, to check them against
}

func (f *fanOut) fail(format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf(format, args...)
	}
}

// names lists the runs, for an error that cannot tell which one is at
// fault.
func (f *fanOut) names() string {
	var n []string
	for _, s := range f.runs {
		n = append(n, s.spec.Name())
	}
	return strings.Join(n, ", ")
}

// bitsHash is a 64-bit hash of the bits of a (FNV-1a over 32-bit words
// in four interleaved lanes, so that the multiplications overlap), so
// that the checks keep no copy of the parameters or gradients: a copy
// would add two models' worth of memory to a big model's run.
func bitsHash(a []float32) uint64 {
	const prime = 1099511628211
	h := [4]uint64{14695981039346656037, 1, 2, 3}
	n := len(a) &^ 3
	for i := 0; i < n; i += 4 {
		h[0] = (h[0] ^ uint64(math.Float32bits(a[i]))) * prime
		h[1] = (h[1] ^ uint64(math.Float32bits(a[i+1]))) * prime
		h[2] = (h[2] ^ uint64(math.Float32bits(a[i+2]))) * prime
		h[3] = (h[3] ^ uint64(math.Float32bits(a[i+3]))) * prime
	}
	for i := n; i < len(a); i++ {
		h[0] = (h[0] ^ uint64(math.Float32bits(a[i]))) * prime
	}
	out := uint64(len(a))
	for _, x := range h {
		out = (out ^ x) * prime
	}
	return out
}

func (f *fanOut) BeginTask(env *methods.Env, t methods.TaskData) error {
	f.params = bitsHash(f.model.Params().Data)
	for _, s := range f.runs {
		s.env.Cfg, s.env.Tasks = env.Cfg, env.Tasks
		if err := s.m.BeginTask(s.env, t); err != nil {
			return fmt.Errorf("%s: BeginTask: %w", s.spec.Name(), err)
		}
	}
	if f.params != bitsHash(f.model.Params().Data) {
		return fmt.Errorf("the BeginTask of one of %s changed the parameters, which a method with a plain first wake (PlainFirstWake) may not do", f.names())
	}
	return nil
}

func (f *fanOut) TrainBatch(_ *methods.Env, b *models.Batch) (*models.Batch, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.step++
	f.params = bitsHash(f.model.Params().Data)
	before := b.Clone()
	for _, s := range f.runs {
		got, err := s.m.TrainBatch(s.env, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.spec.Name(), err)
		}
		if got != b {
			return nil, fmt.Errorf("%s: method %s claims a plain first wake (PlainFirstWake), but its TrainBatch returned another batch than it was given at step %d", s.spec.Name(), s.spec.Method, f.step)
		}
	}
	if !reflect.DeepEqual(before, b) {
		return nil, fmt.Errorf("the TrainBatch of one of %s changed the batch it was given at step %d", f.names(), f.step)
	}
	return b, nil // the parameters are checked after AddPenalty
}

func (f *fanOut) AddPenalty(*methods.Env) float64 {
	g := f.model.Grads().Data
	f.grads = bitsHash(g)
	for _, s := range f.runs {
		if pen := s.m.AddPenalty(s.env); pen != 0 {
			f.fail("%s: method %s claims a plain first wake (PlainFirstWake), but its AddPenalty returned %v at step %d", s.spec.Name(), s.spec.Method, pen, f.step)
		}
	}
	if f.grads != bitsHash(g) {
		f.fail("the AddPenalty of one of %s changed the gradients at step %d, which a method with a plain first wake (PlainFirstWake) may not do", f.names(), f.step)
	}
	if f.params != bitsHash(f.model.Params().Data) {
		f.fail("the TrainBatch or AddPenalty of one of %s changed the parameters at step %d, which a method with a plain first wake (PlainFirstWake) may not do", f.names(), f.step)
	}
	return 0
}

func (f *fanOut) EndTask(*methods.Env, methods.TaskData) error {
	return errors.New("bench: a shared first wake ends before EndTask; each run calls its own")
}
