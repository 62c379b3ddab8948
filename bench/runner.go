package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
	"github.com/sleepbench/sleepbench/tasks"
)

// ModelInfo says what a model reads.
type ModelInfo struct {
	Tokenizer string           // tokenizer of its Arrow files ("gpt2-8k", "gpt2", "bert-uncased")
	LM        models.Objective // its language-modelling objective: NextToken or Masked
	MaxCtx    int              // longest row it takes (0 = no limit)
	// Cost is the training FLOPs per token, so that the progress ETA
	// weighs a big model's steps more; 0 (unknown) counts as 1.
	Cost float64
}

// Builders constructs the pieces of a run. Real returns the ones backed
// by packages models, tasks and methods; tests pass fakes.
type Builders struct {
	// Describe returns what model reads, or an error listing the valid
	// model names.
	Describe func(model string) (ModelInfo, error)
	// NewModel builds model name, initialised from seed, with one
	// classification head per entry of classes (nil for LM).
	NewModel func(name string, classes []int, threads int, seed uint64) (models.Model, error)
	// Init initialises model m (built-in name model) as spec says:
	// InitScratch leaves the seeded weights; InitBase loads the base
	// checkpoint of the model from the folder base; anything else is the
	// path of a checkpoint of the same config. It returns what it loaded
	// (the file and its sha256) for the run record. Nil means scratch
	// only.
	Init func(m models.Model, model, spec, base string) (string, error)
	// NewOptimizer returns the optimiser of a run.
	NewOptimizer func(p *models.Params, weightDecay float64) Optimizer
	// OpenTask opens one task.
	OpenTask func(spec tasks.Spec, index int) (Task, error)
	// Methods is the method registry.
	Methods *methods.Registry
	// Backend names the matrix backend and Optimizer the optimiser
	// (both recorded in every run's config).
	Backend, Optimizer string
}

// RunSpec names one independent run.
type RunSpec struct {
	Protocol   string
	Model      string
	Method     string
	Seed       uint64
	Order      []string
	OrderIndex int // position of Order in Profile.Orders
	// File is the run's result file relative to the output folder:
	// runs/<protocol>/<model>/<method>/seed<k>.json, or seed<k>-order<i>.json
	// (i from 1) when the profile has several task orders.
	File string
}

// Name is the run's file path without "runs/" and ".json", e.g.
// "sequence/custom/ewc/seed1".
func (s RunSpec) Name() string {
	name := strings.TrimPrefix(s.File, "runs/")
	if n, ok := strings.CutSuffix(name, ".config.json"); ok {
		return n
	}
	return strings.TrimSuffix(name, ".json")
}

// Expand lists the runs of a profile: for each plan (protocol), model,
// method, task order and seed, in that nesting.
func Expand(p Profile) []RunSpec {
	var out []RunSpec
	for _, pr := range protocolNames {
		for _, pl := range p.Plans {
			if pl.Protocol != pr {
				continue
			}
			for _, m := range pl.Models {
				for _, meth := range pl.Methods {
					for oi, o := range p.Orders {
						for _, seed := range p.Seeds {
							file := fmt.Sprintf("runs/%s/%s/%s/seed%d.json", pr, m, meth, seed)
							if len(p.Orders) > 1 {
								file = fmt.Sprintf("runs/%s/%s/%s/seed%d-order%d.json", pr, m, meth, seed, oi+1)
							}
							out = append(out, RunSpec{Protocol: pr, Model: m, Method: meth, Seed: seed, Order: o, OrderIndex: oi, File: file})
						}
					}
				}
			}
		}
	}
	return out
}

// Jobs groups runs that share a trained model: a compression run joins
// the sequence run of the same model, method, seed and order (its model
// is that run's final model, kept in memory). Every other run is a job of
// its own. Jobs keep the order of Expand.
func Jobs(specs []RunSpec) [][]RunSpec {
	var jobs [][]RunSpec
	seq := map[string]int{}
	key := func(s RunSpec) string { return fmt.Sprintf("%s|%s|%d|%d", s.Model, s.Method, s.Seed, s.OrderIndex) }
	for _, s := range specs {
		if s.Protocol == Compression {
			if j, ok := seq[key(s)]; ok {
				jobs[j] = append(jobs[j], s)
				continue
			}
		}
		if s.Protocol == Sequence {
			seq[key(s)] = len(jobs)
		}
		jobs = append(jobs, []RunSpec{s})
	}
	return jobs
}

// Runner runs a profile's runs into an output folder:
//
//	OUT/config.json                                   the resolved config
//	OUT/tune/<model>/<method>.config.json             tuning choice and grid scores
//	OUT/tune/<model>/<method>/<key>=<value>.config.json one tuning run
//	OUT/runs/<protocol>/<model>/<method>/seed<k>.json one run (results.Run)
//
// A run whose file exists is skipped, so the same command after an
// interruption resumes; every run is deterministic from its seed, so the
// finished files hold the numbers of an uninterrupted command (all but
// wall_seconds and peak_mem_bytes, which measure this process).
type Runner struct {
	Profile Profile
	Build   Builders
	Data    string // folder of the Arrow files (tasks.Spec.Dir)
	Out     string // output folder
	// Jobs is the number of runs at once (default 1). Each model gets
	// Profile.Threads threads, or Cores/Jobs when that is 0.
	Jobs  int
	Cores int // 0 = runtime.NumCPU()
	// Shard and Shards select every Shards-th job, starting at Shard
	// (0-based): runs are independent, so machines of a cluster each run
	// one shard into their own output folder, and the folders merge by
	// copying runs/ together. Shards 0 or 1 runs everything.
	Shard, Shards int
	// Base is the folder of the base checkpoints (Profile.Init "base"):
	// <Base>/<model>.safetensors. Empty means models/base.
	Base string
	// Progress receives the progress line (stderr); nil for none.
	Progress io.Writer
	// Now is the clock for wall times and progress; nil = time.Now.
	Now func() time.Time
	// PeakMem reads the peak memory recorded per run; nil = PeakRSS.
	PeakMem func() uint64
	// Finish, when set, runs after all runs (tables, scores, plots).
	Finish func(out string) error

	track *tracker
	tuned map[string]tuneChoice // model/method → choice
	mu    sync.Mutex
}

// PeakRSS returns the process's peak resident set size (VmHWM in
// /proc/self/status); where that file is missing it falls back to the Go
// runtime's MemStats.Sys (memory obtained from the OS). Both are per
// process: with several runs at once it is the peak of them all so far.
func PeakRSS() uint64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				fields := strings.Fields(rest)
				if len(fields) >= 1 {
					if kb, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
						return kb * 1024
					}
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Sys
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) peak() uint64 {
	if r.PeakMem != nil {
		return r.PeakMem()
	}
	return PeakRSS()
}

// Validate checks the profile and every protocol, model and method name
// it uses, with errors listing the valid names.
func (r *Runner) Validate() error {
	p := &r.Profile
	if err := p.Check(); err != nil {
		return err
	}
	if r.Build.Describe == nil || r.Build.NewModel == nil || r.Build.NewOptimizer == nil || r.Build.OpenTask == nil || r.Build.Methods == nil {
		return errors.New("bench: Runner.Build is incomplete")
	}
	for _, pl := range p.Plans {
		if !contains(protocolNames, pl.Protocol) {
			return fmt.Errorf("unknown protocol %q (valid: %s)", pl.Protocol, strings.Join(protocolNames, ", "))
		}
		for _, m := range pl.Models {
			info, err := r.Build.Describe(m)
			if err != nil {
				return err
			}
			if info.MaxCtx > 0 && p.Ctx > info.MaxCtx {
				return fmt.Errorf("ctx %d is longer than model %s takes (%d)", p.Ctx, m, info.MaxCtx)
			}
		}
		for _, m := range pl.Methods {
			if _, err := r.Build.Methods.Lookup(m); err != nil {
				return err
			}
		}
	}
	for m := range p.Grids {
		if _, err := r.Build.Methods.Lookup(m); err != nil {
			return fmt.Errorf("tuning grid: %w", err)
		}
	}
	// Build every method once with its settings (and each grid value),
	// so that a bad key or value fails now, not hours into the runs.
	for _, pl := range p.Plans {
		for _, m := range pl.Methods {
			info, _ := r.Build.Methods.Lookup(m) // looked up above
			grid := combos(p.Grids[m])
			if len(grid) == 0 {
				grid = []map[string]string{{}}
			}
			for _, g := range grid {
				cfg := r.baseConfig(info)
				for k, v := range g {
					cfg[k] = v
				}
				if pl.Protocol == Dormancy && info.Night != nil {
					var err error
					if cfg, err = info.Night(cfg, p.DaySteps, p.SleepRatio); err != nil {
						return fmt.Errorf("method %s: %w", m, err)
					}
				}
				if _, err := r.Build.Methods.New(m, cfg); err != nil {
					return err
				}
			}
		}
	}
	if r.Shards > 1 && (r.Shard < 0 || r.Shard >= r.Shards) {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n", r.Shard, r.Shards)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Run runs every run of the profile (of this shard) that has no result
// file yet, tuning first the methods that have a grid, then calls Finish.
func (r *Runner) Run() error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Out == "" {
		return errors.New("bench: no output folder")
	}
	if r.Jobs < 1 {
		r.Jobs = 1
	}
	if err := r.checkConfig(); err != nil {
		return err
	}
	jobs := Jobs(Expand(r.Profile))
	if r.Shards > 1 {
		var mine [][]RunSpec
		for i, j := range jobs {
			if i%r.Shards == r.Shard {
				mine = append(mine, j)
			}
		}
		jobs = mine
	}
	var todo [][]RunSpec
	for _, j := range jobs {
		var left []RunSpec
		for _, s := range j {
			if _, err := os.Stat(filepath.Join(r.Out, s.File)); err != nil {
				left = append(left, s)
			}
		}
		if len(left) > 0 {
			todo = append(todo, j) // the whole job: a compression run needs its sequence model
		}
	}
	if r.Progress != nil {
		r.track = newTracker(r.Progress, r.now)
		defer r.track.close()
	}
	if err := r.tuneAll(todo); err != nil {
		return err
	}
	if err := r.writeConfig(); err != nil {
		return err
	}
	var fns []func() error
	for _, j := range todo {
		j := j
		n, wake := 0, 0.0
		for _, s := range j {
			if !r.exists(s) {
				n++
				wake += r.work(s)
			}
		}
		r.track.plan(n, wake)
		fns = append(fns, func() error { return r.runJob(j) })
	}
	if err := r.pool(fns); err != nil {
		return err
	}
	r.track.close()
	if r.Finish != nil {
		return r.Finish(r.Out)
	}
	return nil
}

func (r *Runner) exists(s RunSpec) bool {
	_, err := os.Stat(filepath.Join(r.Out, s.File))
	return err == nil
}

// work is a run's wake steps weighed by its model's cost, for the ETA.
func (r *Runner) work(s RunSpec) float64 {
	return float64(r.wakeSteps(s)) * r.cost(s.Model)
}

// cost is the ETA's weight of one wake step of model (ModelInfo.Cost).
func (r *Runner) cost(model string) float64 {
	if r.Build.Describe == nil {
		return 1
	}
	if info, err := r.Build.Describe(model); err == nil && info.Cost > 0 {
		return info.Cost
	}
	return 1
}

// wakeSteps estimates a run's wake steps, for the ETA.
func (r *Runner) wakeSteps(s RunSpec) int64 {
	p := r.Profile
	switch s.Protocol {
	case Sequence:
		n := len(s.Order) * p.Steps
		if p.Interference != "" {
			n += p.Steps
		}
		return int64(n)
	case Dormancy:
		return int64(p.Steps + p.Days*p.DaySteps)
	}
	return 0
}

// threads is the thread count of each model.
func (r *Runner) threads() int {
	if r.Profile.Threads > 0 {
		return r.Profile.Threads
	}
	c := r.Cores
	if c <= 0 {
		c = runtime.NumCPU()
	}
	return max(1, c/r.Jobs)
}

// pool runs fns on r.Jobs workers. After the first error no new function
// starts; the errors of those already running are joined.
func (r *Runner) pool(fns []func() error) error {
	var (
		mu   sync.Mutex
		errs []error
		next int
		wg   sync.WaitGroup
	)
	take := func() func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 || next >= len(fns) {
			return nil
		}
		f := fns[next]
		next++
		return f
	}
	for w := 0; w < min(r.Jobs, len(fns)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := take(); f != nil; f = take() {
				if err := f(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// opened holds a run's tasks and trained loop.
type opened struct {
	loop   *Loop
	order  []Task // the tasks of the order
	next   Task   // the interference domain (nil when none)
	all    []Task
	config map[string]string
	method results.MethodInfo
}

func (o *opened) close() {
	for _, t := range o.all {
		t.Close()
	}
}

// settings are the loop settings of the profile.
func (p Profile) settings() Settings {
	return Settings{
		Batch: p.Batch, EvalBatch: p.EvalBatch, EvalRows: p.EvalRows,
		LR: p.LR, MinLR: p.MinLR, Warmup: p.Warmup, Schedule: p.Schedule, ClipNorm: p.ClipNorm,
	}
}

// methodConfig resolves the config of method for protocol: the
// profile's buffer size (for a method that keeps a buffer), its settings
// for the method, then the tuned values, then, for dormancy, the night's
// sleep budget from the method's own Night hook (Profile.SleepRatio × the
// day's wake steps).
func (r *Runner) methodConfig(model, method, protocol string) (methods.Config, error) {
	info, err := r.Build.Methods.Lookup(method)
	if err != nil {
		return nil, err
	}
	cfg := r.baseConfig(info)
	r.mu.Lock()
	choice, ok := r.tuned[model+"/"+method]
	r.mu.Unlock()
	if ok {
		for k, v := range choice.Choice {
			cfg[k] = v
		}
	}
	if protocol == Dormancy && info.Night != nil {
		if cfg, err = info.Night(cfg, r.Profile.DaySteps, r.Profile.SleepRatio); err != nil {
			return nil, fmt.Errorf("method %s: %w", method, err)
		}
	}
	return cfg, nil
}

// baseConfig is a method's config before tuning: the profile's buffer
// size when the method keeps a buffer, then the profile's settings for
// the method.
func (r *Runner) baseConfig(info methods.Info) methods.Config {
	cfg := methods.Config{}
	if info.Buffered && r.Profile.Buffer > 0 {
		cfg["buffer"] = strconv.Itoa(r.Profile.Buffer)
	}
	for k, v := range r.Profile.MethodConfigs[info.Name] {
		cfg[k] = v
	}
	return cfg
}

// open builds the model, method, optimiser and tasks of one run. For the
// dormancy protocol order[0] is the base task and the others (the rest of
// the order, then the interference domain) are the interfering days.
func (r *Runner) open(s RunSpec, seed uint64, cfg methods.Config, validation bool) (*opened, error) {
	p := r.Profile
	info, err := r.Build.Describe(s.Model)
	if err != nil {
		return nil, err
	}
	obj := info.LM
	if p.Objective == Classify {
		obj = models.Classify
	}
	o := &opened{}
	openOne := func(domain string) (Task, error) {
		spec := tasks.Spec{Dir: r.Data, Domain: domain, Tokenizer: info.Tokenizer, Objective: obj, Ctx: p.Ctx, EvalRows: p.EvalRows}
		t, err := r.Build.OpenTask(spec, len(o.all))
		if err != nil {
			return nil, fmt.Errorf("%s: opening %s: %w", s.Name(), domain, err)
		}
		o.all = append(o.all, t)
		return t, nil
	}
	for _, d := range s.Order {
		t, err := openOne(d)
		if err != nil {
			o.close()
			return nil, err
		}
		o.order = append(o.order, t)
	}
	if p.Interference != "" && !validation && !contains(s.Order, p.Interference) {
		if o.next, err = openOne(p.Interference); err != nil {
			o.close()
			return nil, err
		}
	}
	var classes []int
	if obj == models.Classify {
		for _, t := range o.all {
			if t.Classes() < 2 {
				o.close()
				return nil, fmt.Errorf("%s: domain %s has %d label classes; classification needs at least 2", s.Name(), t.Name(), t.Classes())
			}
			classes = append(classes, t.Classes())
		}
	}
	m, err := r.Build.NewModel(s.Model, classes, r.threads(), seed)
	if err != nil {
		o.close()
		return nil, fmt.Errorf("%s: %w", s.Name(), err)
	}
	loaded, err := r.initModel(m, s.Model)
	if err != nil {
		o.close()
		return nil, fmt.Errorf("%s: %w", s.Name(), err)
	}
	meth, err := r.Build.Methods.New(s.Method, cfg)
	if err != nil {
		o.close()
		return nil, fmt.Errorf("%s: %w", s.Name(), err)
	}
	minfo, _ := r.Build.Methods.Lookup(s.Method) // New found it
	o.method = RecordInfo(minfo)
	opt := r.Build.NewOptimizer(m.Params(), p.WeightDecay)
	o.loop = NewLoop(s.Name(), m, meth, opt, p.settings(), seed)
	if validation || p.EvalSplit == EvalValidation {
		o.loop.UseValidation()
	}
	name := s.Name()
	if r.track != nil {
		o.loop.Report = func(pr Progress) { r.track.update(name, pr) }
		o.loop.env.Logf = func(format string, args ...any) { r.track.log(name+": "+format, args...) }
	}
	o.config = r.runConfig(s, info, cfg)
	o.config["init"] = r.Profile.Init
	if loaded != "" {
		o.config["init_checkpoint"] = loaded
	}
	return o, nil
}

// initModel initialises m as Profile.Init says (see Builders.Init).
func (r *Runner) initModel(m models.Model, model string) (string, error) {
	spec := r.Profile.Init
	if spec == "" || spec == InitScratch {
		return "", nil
	}
	if r.Build.Init == nil {
		return "", fmt.Errorf("init=%s: these builders start every model from scratch", spec)
	}
	base := r.Base
	if base == "" {
		base = DefaultBase
	}
	return r.Build.Init(m, model, spec, base)
}

// runConfig lists every setting of a run.
func (r *Runner) runConfig(s RunSpec, info ModelInfo, cfg methods.Config) map[string]string {
	p := r.Profile
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	c := map[string]string{
		"profile": p.Name, "protocol": s.Protocol, "model": s.Model, "method": s.Method,
		"seed": strconv.FormatUint(s.Seed, 10), "order": strings.Join(s.Order, ","),
		"order_index": strconv.Itoa(s.OrderIndex + 1), "interference": p.Interference,
		"objective": p.Objective, "tokenizer": info.Tokenizer, "eval_split": p.evalSplit(),
		"ctx": strconv.Itoa(p.Ctx), "batch": strconv.Itoa(p.Batch),
		"eval_batch": strconv.Itoa(p.EvalBatch), "eval_rows": strconv.Itoa(p.EvalRows),
		"steps": strconv.Itoa(p.Steps), "lr": f(p.LR), "min_lr": f(p.MinLR),
		"warmup": strconv.Itoa(p.Warmup), "schedule": p.Schedule, "clip": f(p.ClipNorm),
		"weight_decay": f(p.WeightDecay), "backend": r.Build.Backend,
		"optimizer": r.Build.Optimizer,
	}
	switch s.Protocol {
	case Dormancy:
		c["days"] = strconv.Itoa(p.Days)
		c["eval_every"] = strconv.Itoa(p.EvalEvery)
		c["day_steps"] = strconv.Itoa(p.DaySteps)
		c["sleep_ratio"] = f(p.SleepRatio)
	case Compression:
		c["prune"] = f(p.PruneFrac)
		c["compressed_model"] = "final model of runs/" + Sequence + "/" + strings.TrimPrefix(strings.TrimPrefix(s.File, "runs/"), Compression+"/")
	}
	for k, v := range cfg {
		c["method."+k] = v
	}
	r.mu.Lock()
	choice, ok := r.tuned[s.Model+"/"+s.Method]
	r.mu.Unlock()
	if ok {
		for k, v := range choice.Choice {
			c["tuned."+k] = v
		}
		for k, v := range choice.config() {
			c[k] = v
		}
	}
	return c
}

// record starts a result record for s.
func record(s RunSpec, profile string, o *opened) *results.Run {
	names := make([]string, len(o.order))
	for i, t := range o.order {
		names[i] = t.Name()
	}
	return &results.Run{
		SchemaVersion: results.SchemaVersion, Profile: profile, Protocol: s.Protocol,
		Model: s.Model, Method: s.Method, MethodInfo: o.method, Seed: s.Seed, Tasks: names, Config: o.config,
	}
}

// RecordInfo is the copy of a method's table metadata that every run
// record carries (results.Run.MethodInfo).
func RecordInfo(info methods.Info) results.MethodInfo {
	return results.MethodInfo{
		Label: info.Label, Rank: info.Rank, Role: info.Role,
		Baseline: info.Baseline, Control: info.Control, Parent: info.Parent,
	}
}

// runJob runs the runs of one job that have no result file yet.
func (r *Runner) runJob(job []RunSpec) error {
	first := job[0]
	if first.Protocol == Dormancy {
		if r.exists(first) {
			return nil
		}
		return r.runDormancy(first)
	}
	return r.runSequence(job)
}

func (r *Runner) runDormancy(s RunSpec) error {
	start := r.now()
	cfg, err := r.methodConfig(s.Model, s.Method, Dormancy)
	if err != nil {
		return err
	}
	o, err := r.open(s, s.Seed, cfg, false)
	if err != nil {
		return err
	}
	defer o.close()
	r.track.begin(s.Name(), r.cost(s.Model))
	others := append([]Task(nil), o.order[1:]...)
	if o.next != nil {
		others = append(others, o.next)
	}
	p := r.Profile
	res, err := RunDormancy(o.loop, o.order[0], others, p.Steps, p.Days, p.DaySteps, p.EvalEvery)
	if err != nil {
		return err
	}
	rec := record(s, p.Name, o)
	rec.Tasks = rec.Tasks[:1]
	rec.Days, rec.DaysLoss = res.Acc, res.Loss
	if len(res.Days) != p.Days+1 {
		rec.DayNumbers = res.Days
	}
	rec.Config["interfering"] = strings.Join(names(others), ",")
	r.finish(rec, o.loop, start)
	if err := r.save(s, rec); err != nil {
		return err
	}
	r.track.end(s.Name(), r.work(s))
	return nil
}

func names(ts []Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name()
	}
	return out
}

// runSequence runs a sequence run and the compression run sharing its
// model. When the sequence's file exists but the compression's does not
// (an interrupted command), the sequence is trained again — bit for bit
// the same model — without rewriting its file.
func (r *Runner) runSequence(job []RunSpec) error {
	start := r.now()
	s := job[0]
	cfg, err := r.methodConfig(s.Model, s.Method, s.Protocol)
	if err != nil {
		return err
	}
	o, err := r.open(s, s.Seed, cfg, false)
	if err != nil {
		return err
	}
	defer o.close()
	p := r.Profile
	var seqSpec, compSpec *RunSpec
	for i := range job {
		if r.exists(job[i]) {
			continue
		}
		switch job[i].Protocol {
		case Sequence:
			seqSpec = &job[i]
		case Compression:
			compSpec = &job[i]
		}
	}
	if seqSpec == nil && compSpec == nil {
		return nil
	}
	live := s.Name()
	if seqSpec == nil {
		live = compSpec.Name()
	}
	r.track.begin(live, r.cost(s.Model))
	res, err := RunSequence(o.loop, o.order, o.next, p.Steps)
	if err != nil {
		return err
	}
	if seqSpec != nil {
		rec := record(*seqSpec, p.Name, o)
		rec.R, rec.Loss, rec.NextDay = res.R, res.Loss, res.NextDay
		r.finish(rec, o.loop, start)
		if err := r.save(*seqSpec, rec); err != nil {
			return err
		}
		r.track.end(live, r.work(*seqSpec))
	}
	if compSpec != nil {
		cstart := r.now()
		if seqSpec != nil {
			r.track.begin(compSpec.Name(), r.cost(compSpec.Model))
		}
		comp, share, err := RunCompression(o.loop, o.order, p.PruneFrac)
		if err != nil {
			return err
		}
		rec := record(*compSpec, p.Name, o)
		rec.Config = r.runConfig(*compSpec, mustDescribe(r, s.Model), cfg)
		rec.Compression, rec.CompressionShare = comp, share
		// Steps and tokens are those that trained the compressed model;
		// the wall time is the compression's own unless the model had
		// to be trained again for it.
		if seqSpec != nil {
			start = cstart
		}
		r.finish(rec, o.loop, start)
		if err := r.save(*compSpec, rec); err != nil {
			return err
		}
		r.track.end(compSpec.Name(), 0)
	}
	return nil
}

func mustDescribe(r *Runner, model string) ModelInfo {
	info, _ := r.Build.Describe(model) // validated before any run
	return info
}

// finish fills the cost fields of rec.
func (r *Runner) finish(rec *results.Run, l *Loop, start time.Time) {
	rec.Steps = l.Steps
	rec.Tokens = l.Tokens
	rec.Periods = l.Periods
	rec.WallSeconds = r.now().Sub(start).Seconds()
	rec.PeakMemBytes = r.peak()
}

// save validates a run's record and writes its file atomically.
func (r *Runner) save(s RunSpec, rec *results.Run) error {
	return results.SaveRun(filepath.Join(r.Out, s.File), rec)
}

// writeJSON writes v as indented JSON to path atomically (a temporary
// file in the same folder, synced, then renamed), creating folders.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeFile(path, append(data, '\n'))
}

// resolved is the content of OUT/config.json.
type resolved struct {
	SchemaVersion string                `json:"schema_version"`
	Backend       string                `json:"backend"`
	Profile       Profile               `json:"profile"`
	Tuned         map[string]tuneChoice `json:"tuned,omitempty"`
}

// settingsKey is the part of a config that changes the numbers of a run
// already written: everything but the plans and seeds (which only add or
// drop runs) and the thread count (results do not depend on it).
func settingsKey(p Profile) ([]byte, error) {
	p.Plans, p.Seeds, p.Threads = nil, nil, 0
	return json.Marshal(p)
}

// checkConfig refuses an output folder written with other settings.
func (r *Runner) checkConfig() error {
	path := filepath.Join(r.Out, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var old resolved
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	a, err := settingsKey(old.Profile)
	if err != nil {
		return err
	}
	b, err := settingsKey(r.Profile)
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) || old.Backend != r.Build.Backend {
		return fmt.Errorf("%s was written with other settings (%s); use another -out folder or remove it", path, diffSettings(old, resolved{Profile: r.Profile, Backend: r.Build.Backend}))
	}
	return nil
}

// diffSettings names the top-level settings that differ.
func diffSettings(a, b resolved) string {
	var ma, mb map[string]json.RawMessage
	ka, _ := settingsKey(a.Profile)
	kb, _ := settingsKey(b.Profile)
	json.Unmarshal(ka, &ma)
	json.Unmarshal(kb, &mb)
	var diffs []string
	for k, v := range ma {
		if !bytes.Equal(v, mb[k]) {
			diffs = append(diffs, fmt.Sprintf("%s %s → %s", k, v, mb[k]))
		}
	}
	if a.Backend != b.Backend {
		diffs = append(diffs, fmt.Sprintf("backend %s → %s", a.Backend, b.Backend))
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

func (r *Runner) writeConfig() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return writeJSON(filepath.Join(r.Out, "config.json"), resolved{
		SchemaVersion: results.SchemaVersion, Backend: r.Build.Backend, Profile: r.Profile, Tuned: r.tuned,
	})
}
