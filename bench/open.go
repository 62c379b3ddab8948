package bench

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
	"github.com/sleepbench/sleepbench/tasks"
)

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
func (p Profile) settings(model string) Settings {
	lr, minLR := p.rates(model)
	return Settings{
		Batch: p.Batch, EvalBatch: p.EvalBatch, EvalRows: p.EvalRows,
		LR: lr, MinLR: minLR, Warmup: p.Warmup, Schedule: p.Schedule, ClipNorm: p.ClipNorm,
	}
}

// rates returns model's peak and final learning rates: ModelLR's when it
// names the model (the final rate scaled by the same factor), else LR and
// MinLR.
func (p Profile) rates(model string) (lr, minLR float64) {
	if x, ok := p.ModelLR[model]; ok && p.LR > 0 {
		return x, p.MinLR * x / p.LR
	}
	return p.LR, p.MinLR
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
	obj := p.objective(info)
	o := &opened{}
	openOne := func(domain string) (Task, error) {
		spec := tasks.Spec{Dir: r.Data, Domain: domain, Tokenizer: info.Tokenizer, Objective: obj, Ctx: p.Ctx, EvalRows: p.evalRows(obj)}
		if obj == models.Masked {
			spec.TrainMaskRate = p.TrainMaskRate
		}
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
	set := p.settings(s.Model)
	set.EvalRows = p.evalRows(obj)
	o.loop = NewLoop(s.Name(), m, meth, opt, set, seed)
	if validation || p.EvalSplit == EvalValidation {
		o.loop.UseValidation()
	}
	name := s.Name()
	if r.track != nil {
		o.loop.Report = func(pr Progress) { r.track.update(name, pr) }
		o.loop.env.Logf = func(format string, args ...any) { r.track.log(name+": "+format, args...) }
	}
	o.config = r.fullConfig(s, info, cfg, loaded)
	return o, nil
}

// fullConfig is the config a run records, and whose hash its checkpoints
// carry: runConfig and where the model started (loaded: the checkpoint
// Init loaded, "" for none).
func (r *Runner) fullConfig(s RunSpec, info ModelInfo, cfg methods.Config, loaded string) map[string]string {
	c := r.runConfig(s, info, cfg)
	c["init"] = r.Profile.Init
	if loaded != "" {
		c["init_checkpoint"] = loaded
	}
	return c
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
	lr, minLR := p.rates(s.Model)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	c := map[string]string{
		"profile": p.Name, "protocol": s.Protocol, "model": s.Model, "method": s.Method,
		"seed": strconv.FormatUint(s.Seed, 10), "order": strings.Join(s.Order, ","),
		"order_index": strconv.Itoa(s.OrderIndex + 1), "interference": p.Interference,
		"objective": p.Objective, "tokenizer": info.Tokenizer, "eval_split": p.evalSplit(),
		"ctx": strconv.Itoa(p.Ctx), "batch": strconv.Itoa(p.Batch),
		"eval_batch": strconv.Itoa(p.EvalBatch), "eval_rows": strconv.Itoa(p.evalRows(p.objective(info))),
		"steps": strconv.Itoa(p.Steps), "lr": f(lr), "min_lr": f(minLR),
		"warmup": strconv.Itoa(p.Warmup), "schedule": p.Schedule, "clip": f(p.ClipNorm),
		"weight_decay": f(p.WeightDecay), "backend": r.Build.Backend,
		"optimizer": r.Build.Optimizer,
	}
	if p.TrainMaskRate > 0 && p.objective(info) == models.Masked {
		c["train_mask_rate"] = f(p.TrainMaskRate)
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
