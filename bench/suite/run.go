package suite

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sleepbench/sleepbench/bench"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
)

// RunSuite runs the image suite name (SplitMNIST, PermutedMNIST or
// BuzzegaMNIST): every (scenario, method, seed) of opt that has no result
// file yet is trained through Loop, and its accuracy matrix written as a
// results.Run under opt.Out; then it prints, per scenario, the measured average accuracy
// (mean ± 95% interval over the seeds, results.Aggregate) beside the
// published number, the difference and whether it is within 2 points
// (marked "not counted" where the published number could not be checked
// against a text source).
// The tables are also written to <Out>/tables.md. A cancelled ctx stops
// the suite at the next task boundary.
func RunSuite(ctx context.Context, name string, opt SuiteOptions, w io.Writer) error {
	p, err := planSuite(name, opt)
	if err != nil {
		return err
	}
	out := p.opt.Out
	var jobs []suiteJob
	for _, sc := range p.scenarios {
		for _, m := range p.methods {
			if !p.applies(sc, m) {
				continue
			}
			for _, seed := range p.seeds {
				jobs = append(jobs, suiteJob{sc: sc, m: m, seed: seed,
					file: filepath.Join("runs", sc.protocol, m.name, fmt.Sprintf("seed%d.json", seed))})
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("suite output: %w", err)
	}
	data, err := loadMNIST(p.opt.Data)
	if err != nil {
		return err
	}
	runs := make([]*results.Run, len(jobs))
	var todo []int
	for i, j := range jobs {
		path := filepath.Join(out, j.file)
		if _, err := os.Stat(path); err != nil {
			todo = append(todo, i)
			continue
		}
		r, err := results.LoadRun(path)
		if err != nil {
			return err
		}
		ts, err := p.jobTasks(data, j)
		if err != nil {
			return err
		}
		if err := sameSettings(path, r.Config, p.runConfig(j, ts)); err != nil {
			return err
		}
		runs[i] = r
	}
	// Split MNIST's tasks do not depend on the seed: share them (and their
	// cached test batches) between the runs of a scenario.
	shared := map[string][]*imageTask{}
	if p.name == SplitMNIST {
		for _, sc := range p.scenarios {
			if shared[sc.protocol], err = p.buildTasks(data, sc, 0); err != nil {
				return err
			}
		}
	}
	var mu sync.Mutex // guards runs
	fns := make([]func() error, len(todo))
	for k, i := range todo {
		fns[k] = func() error {
			if ctx.Err() != nil {
				return nil // reported after the pool
			}
			j := jobs[i]
			ts := shared[j.sc.protocol]
			if ts == nil {
				var err error
				if ts, err = p.jobTasks(data, j); err != nil {
					return err
				}
			}
			r, err := p.run(ctx, j, ts)
			if err == nil {
				err = results.SaveRun(filepath.Join(out, j.file), r)
			}
			if err != nil {
				return err
			}
			mu.Lock()
			runs[i] = r
			mu.Unlock()
			return nil
		}
	}
	if err := bench.Pool(p.opt.Jobs, fns); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tabs, err := p.tables(jobs, runs)
	if err != nil {
		return err
	}
	for _, t := range tabs {
		if err := t.write(w, p.opt.Format); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(out, "tables.md"))
	if err != nil {
		return fmt.Errorf("suite tables: %w", err)
	}
	for _, t := range tabs {
		if err := t.write(f, results.FormatMarkdown); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// runConfig lists every setting of a run (results.Run.Config).
func (p *suitePlan) runConfig(j suiteJob, ts []*imageTask) map[string]string {
	sc := j.sc
	steps := stepsPerTask(ts, sc, j.m)
	ss := make([]string, len(steps))
	for i, s := range steps {
		ss[i] = strconv.Itoa(s)
	}
	in := suiteInputs
	inputs := fmt.Sprintf("28x28 zero-padded to 32x32, (pixel/255 - %g) / %g", suiteMean, suiteStd)
	if sc.raw {
		in, inputs = mnistSide*mnistSide, "28x28, pixel/255"
	}
	hidden := make([]string, len(sc.hidden))
	for i, h := range sc.hidden {
		hidden[i] = strconv.Itoa(h)
	}
	lr := p.lr(j.m, sc)
	opt := "adam(beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0)"
	if j.m.optimizer == "sgd" {
		opt = "sgd(momentum=0)"
	}
	c := map[string]string{
		"suite": p.name, "protocol": sc.protocol, "scenario": sc.short, "method": j.m.name,
		"registry_method": j.m.registry, "seed": strconv.FormatUint(j.seed, 10),
		"model":     fmt.Sprintf("mlp(in=%d, hidden=%s, heads=%s)", in, strings.Join(hidden, ","), map[bool]string{true: "one per task", false: "shared"}[sc.multiHead]),
		"inputs":    inputs,
		"optimizer": opt, "lr": fmtFloat(lr), "schedule": bench.Constant, "clip": "0",
		"batch": strconv.Itoa(sc.batch), "epochs": strconv.Itoa(sc.epochs), "steps_per_task": strings.Join(ss, ","),
		"eval_batch": strconv.Itoa(suiteEvalBatch), "backend": models.BackendName,
	}
	switch {
	case sc.rotated:
		degs := make([]string, len(ts))
		for i, t := range ts {
			degs[i] = strconv.FormatFloat(t.degrees, 'f', 4, 64)
		}
		c["rotations"] = strings.Join(degs, ",")
	case p.name != SplitMNIST:
		c["permutations"] = strconv.Itoa(len(ts))
	}
	if sc.taskIL {
		c["scoring"] = "task-il: argmax over the outputs of the row's own task's classes"
	}
	if j.m.joint {
		c["joint"] = "no step in tasks 1.." + strconv.Itoa(len(ts)-1) + "; in the last task's period, the union of every task's training rows, shuffled"
	}
	c["init"] = p.opt.Init
	c["loss_outputs"] = "all"
	if p.masked(sc) || j.m.maskSeen && sc.seq {
		outs := make([]string, len(ts))
		for i, t := range ts {
			outs[i] = strconv.Itoa(t.outputs)
		}
		c["loss_outputs"] = "seen classes, per task " + strings.Join(outs, ",")
	}
	for k, v := range p.methodConfig(j.m, sc) {
		c["method."+k] = v
	}
	return c
}

const suiteEvalBatch = 1000

// settingDefaults are settings added to the run config after runs were
// first recorded, with the value a run file without them was trained
// with.
var settingDefaults = map[string]string{"loss_outputs": "all", "init": initDefault}

// sameSettings refuses a run file written with other settings.
func sameSettings(path string, got, want map[string]string) error {
	var diffs []string
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			g = settingDefaults[k]
		}
		if g != v {
			diffs = append(diffs, fmt.Sprintf("%s %q → %q", k, g, v))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	return fmt.Errorf("%s was written with other settings (%s); use another output folder or remove it", path, strings.Join(diffs, "; "))
}

// run trains one (scenario, method, seed) and returns its record.
func (p *suitePlan) run(ctx context.Context, j suiteJob, ts []*imageTask) (*results.Run, error) {
	start := time.Now()
	sc := j.sc
	bts := make([]bench.Task, len(ts))
	for i, t := range ts {
		bts[i] = t
	}
	if j.m.joint {
		bts[len(ts)-1] = &jointTask{imageTask: ts[len(ts)-1], all: ts}
	}
	model, err := newSuiteModel(sc, ts, j.seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.name(), err)
	}
	if p.opt.Init == initXavier {
		xavierInit(model.Params(), j.seed)
	}
	var scored models.Model = model
	if sc.taskIL {
		scored = &taskILModel{MLP: model, tasks: ts}
	}
	meth, err := methods.New(j.m.registry, p.methodConfig(j.m, sc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.name(), err)
	}
	var opt bench.Optimizer
	lr := p.lr(j.m, sc)
	switch j.m.optimizer {
	case "sgd":
		opt = &models.SGD{}
	case "adam":
		opt = models.NewAdamW(model.Params(), models.AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	default:
		return nil, fmt.Errorf("%s: unknown optimiser %q", j.name(), j.m.optimizer)
	}
	set := bench.Settings{Batch: sc.batch, EvalBatch: suiteEvalBatch, LR: lr, MinLR: lr, Schedule: bench.Constant}
	loop := bench.NewLoop(j.name(), scored, meth, opt, set, j.seed)
	if p.opt.Progress != nil {
		fmt.Fprintf(p.opt.Progress, "%s: started\n", j.name())
	}
	rec := &results.Run{
		SchemaVersion: results.SchemaVersion, Profile: "suite-" + p.name, Protocol: sc.protocol,
		Model: model.Name(), Method: j.m.name, Seed: j.seed, Config: p.runConfig(j, ts),
	}
	res, err := bench.RunTasks(ctx, loop, bts, stepsPerTask(ts, sc, j.m))
	if err != nil {
		return nil, err
	}
	rec.R, rec.Loss = res.R, res.Loss
	for _, t := range ts {
		rec.Tasks = append(rec.Tasks, t.Name())
	}
	rec.Steps, rec.Tokens = loop.Steps, loop.Tokens
	rec.WallSeconds = time.Since(start).Seconds()
	rec.PeakMemBytes = bench.PeakRSS()
	if p.opt.Progress != nil {
		acc, _ := results.ACC(rec.R)
		fmt.Fprintf(p.opt.Progress, "%s: ACC %.2f%% (%d steps, %.0f s)\n", j.name(), 100*acc, rec.Steps, rec.WallSeconds)
	}
	return rec, nil
}

// newSuiteModel builds the MLP of scenario sc for tasks ts: one head per
// task (sized by the task's classes) for incremental task learning, one
// shared head otherwise, initialised from seed.
func newSuiteModel(sc suiteScenario, ts []*imageTask, seed uint64) (*models.MLP, error) {
	classes := make([]int, len(ts))
	for i, t := range ts {
		classes[i] = t.Classes()
	}
	in := suiteInputs
	if sc.raw {
		in = mnistSide * mnistSide
	}
	return models.NewMLP(models.MLPConfig{In: in, Hidden: sc.hidden, Classes: classes, SharedHead: !sc.multiHead}, seed)
}

// xavierInit redraws every weight matrix of an MLP uniform in
// ±√(6/(fan_in + fan_out)) (Xavier/Glorot) and sets every bias to 0, as
// Buzzega et al.'s backbone/__init__.py (xavier) does, from a PCG seeded
// by seed.
func xavierInit(p *models.Params, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x786176)) // "xav"
	for _, t := range p.Tensors {
		s := p.Slice(t)
		if t.Kind != models.Matrix {
			clear(s)
			continue
		}
		out, in := t.Shape[0], t.Shape[1]
		a := math.Sqrt(6 / float64(in+out))
		for j := range s {
			s[j] = float32((2*rng.Float64() - 1) * a)
		}
	}
}

// taskILModel scores an MLP Task-IL, as Buzzega et al.'s mask_classes:
// a row of task t is predicted by the argmax over the outputs of t's
// classes alone (the other logits masked), and its loss is the
// cross-entropy over those outputs. Training goes to the MLP unchanged.
type taskILModel struct {
	*models.MLP
	tasks []*imageTask
}

// Evaluate scores b Task-IL.
func (m *taskILModel) Evaluate(b *models.Batch) (models.Score, error) {
	var s models.Score
	var ferr error
	_, err := m.ForwardOutputs(b, models.ForwardOptions{}, false, func(out *models.Outputs, _ []float32) float64 {
		for i, r := range out.Row {
			t := b.Task[r]
			if t < 0 || t >= len(m.tasks) {
				ferr = fmt.Errorf("task-il scoring: row %d of task %d (the sequence has %d)", r, t, len(m.tasks))
				return 0
			}
			z := out.Logits[i*out.Width : (i+1)*out.Width]
			best, mx := -1, math.Inf(-1)
			for _, d := range m.tasks[t].digits {
				if v := float64(z[d]); v > mx {
					best, mx = int(d), v
				}
			}
			var sum float64
			for _, d := range m.tasks[t].digits {
				sum += math.Exp(float64(z[d]) - mx)
			}
			y := int(b.Targets[r])
			if best == y {
				s.Correct++
			}
			s.Total++
			s.LossSum += mx + math.Log(sum) - float64(z[y])
		}
		return 0
	})
	if err == nil {
		err = ferr
	}
	return s, err
}
