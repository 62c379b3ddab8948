package bench

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sleepbench/sleepbench/methods"
)

// Changing a profile from the command line: -set key=value (Profile.Set,
// one typed setter per key, documented by SetKeys) and the run flags that
// narrow a profile (Overrides).

// setter parses one -set value into a profile field.
type setter struct {
	doc string
	set func(p *Profile, v string) error
}

func intField(f func(p *Profile) *int, doc string) setter {
	return setter{doc, func(p *Profile, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want a non-negative integer, got %q", v)
		}
		*f(p) = n
		return nil
	}}
}

func floatField(f func(p *Profile) *float64, doc string) setter {
	return setter{doc, func(p *Profile, v string) error {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 {
			return fmt.Errorf("want a non-negative number, got %q", v)
		}
		*f(p) = x
		return nil
	}}
}

var setters = map[string]setter{
	"ctx":              intField(func(p *Profile) *int { return &p.Ctx }, "tokens per row"),
	"batch":            intField(func(p *Profile) *int { return &p.Batch }, "rows per training batch"),
	"eval_batch":       intField(func(p *Profile) *int { return &p.EvalBatch }, "rows per evaluation batch"),
	"eval_rows":        intField(func(p *Profile) *int { return &p.EvalRows }, "held-out rows scored per task (0 = all)"),
	"eval_rows_masked": intField(func(p *Profile) *int { return &p.EvalRowsMasked }, "held-out rows per task for masked-LM models (0 = eval_rows)"),
	"steps":            intField(func(p *Profile) *int { return &p.Steps }, "wake steps per task"),
	"warmup":           intField(func(p *Profile) *int { return &p.Warmup }, "warm-up steps per period"),
	"days":             intField(func(p *Profile) *int { return &p.Days }, "dormancy days"),
	"day_steps":        intField(func(p *Profile) *int { return &p.DaySteps }, "wake steps per dormancy day"),
	"eval_every":       intField(func(p *Profile) *int { return &p.EvalEvery }, "dormancy: score the base task every this many days (and the last)"),
	"threads":          intField(func(p *Profile) *int { return &p.Threads }, "threads per model (0 = cores/jobs)"),
	"checkpoint_every": intField(func(p *Profile) *int { return &p.CheckpointEvery }, "save a run's state every this many wake steps, besides every task boundary (0 = boundaries only)"),
	"buffer":           intField(func(p *Profile) *int { return &p.Buffer }, "replay-buffer rows of every buffered method (0 = each method's default)"),
	"lr":               floatField(func(p *Profile) *float64 { return &p.LR }, "peak learning rate"),
	"model_lr": {"peak learning rate per model, MODEL:LR,... (min_lr scales with it; empty: none)", func(p *Profile, v string) error {
		m := map[string]float64{}
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			name, val, ok := strings.Cut(part, ":")
			x, err := strconv.ParseFloat(val, 64)
			if !ok || name == "" || err != nil || !(x > 0) {
				return fmt.Errorf("want MODEL:LR pairs with a positive rate, got %q", part)
			}
			m[name] = x
		}
		p.ModelLR = m
		return nil
	}},
	"train_mask_rate": {"share of positions masked in masked-LM training batches, in (0, 1] (0 = 15%; evaluation always masks 15%)", func(p *Profile, v string) error {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 1 {
			return fmt.Errorf("want a share in [0, 1], got %q", v)
		}
		p.TrainMaskRate = x
		return nil
	}},
	"min_lr":       floatField(func(p *Profile) *float64 { return &p.MinLR }, "final learning rate of the cosine schedule"),
	"clip":         floatField(func(p *Profile) *float64 { return &p.ClipNorm }, "gradient-norm clip (0 = off)"),
	"weight_decay": floatField(func(p *Profile) *float64 { return &p.WeightDecay }, "AdamW weight decay"),
	"sleep_ratio":  floatField(func(p *Profile) *float64 { return &p.SleepRatio }, "dormancy sleep steps per wake step"),
	"prune":        floatField(func(p *Profile) *float64 { return &p.PruneFrac }, "compression: fraction pruned"),
	"tune_seeds": {"seeds of the tuning runs, comma-separated", func(p *Profile, v string) error {
		var seeds []uint64
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return fmt.Errorf("want comma-separated unsigned integers, got %q", v)
			}
			for _, s := range seeds {
				if s == n {
					return fmt.Errorf("seed %d twice in %q", n, v)
				}
			}
			seeds = append(seeds, n)
		}
		p.TuneSeeds = seeds
		return nil
	}},
	"schedule": {"cosine | constant", func(p *Profile, v string) error {
		if v != Cosine && v != Constant {
			return fmt.Errorf("want %s or %s, got %q", Cosine, Constant, v)
		}
		p.Schedule = v
		return nil
	}},
	"objective": {"lm | classify (classify renames the domains to their labelled tasks and drops the next day)", func(p *Profile, v string) error {
		if v != LM && v != Classify {
			return fmt.Errorf("want %s or %s, got %q", LM, Classify, v)
		}
		if v == Classify && p.Objective != Classify {
			for _, o := range p.Orders {
				for i, d := range o {
					if c, ok := labelled[d]; ok {
						o[i] = c
					}
				}
			}
			p.Interference = ""
		}
		p.Objective = v
		return nil
	}},
	"eval_split": {"test | validation (validation: for choosing budgets; test: results)", func(p *Profile, v string) error {
		if v != EvalTest && v != EvalValidation {
			return fmt.Errorf("want %s or %s, got %q", EvalTest, EvalValidation, v)
		}
		p.EvalSplit = v
		return nil
	}},
	"init": {"where models start: base (the committed base checkpoint), scratch, the path of a safetensors checkpoint, or hf:PATH[,PATH] (Hugging Face GPT-2 / BERT model.safetensors; each model takes the file of its shape)", func(p *Profile, v string) error {
		if v == "" {
			return fmt.Errorf("want base, scratch or a checkpoint path")
		}
		p.Init = v
		return nil
	}},
	"interference": {"next-day domain (empty: no next day)", func(p *Profile, v string) error {
		p.Interference = v
		return nil
	}},
}

// SetKeys lists the keys Set accepts besides METHOD.KEY and
// grid.METHOD.KEY, each with a short description.
func SetKeys() []string {
	keys := make([]string, 0, len(setters))
	for k, s := range setters {
		keys = append(keys, k+" ("+s.doc+")")
	}
	sort.Strings(keys)
	return keys
}

// Set overrides one setting from a "key=value" string: a profile field
// (see SetKeys), a method setting "METHOD.KEY=VALUE" (e.g.
// ewc.lambda=100, which also drops a grid on that key), or a tuning grid
// "grid.METHOD.KEY=V1,V2,..." (empty to drop it).
func (p *Profile) Set(kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return fmt.Errorf("-set %q: want key=value", kv)
	}
	if s, ok := setters[key]; ok {
		if err := s.set(p, val); err != nil {
			return fmt.Errorf("-set %s: %w", key, err)
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(key, "grid."); ok {
		method, k, ok := strings.Cut(rest, ".")
		if !ok || method == "" || k == "" {
			return fmt.Errorf("-set %s: want grid.METHOD.KEY=V1,V2 (a comma-separated list)", key)
		}
		if p.Grids == nil {
			p.Grids = map[string]map[string][]string{}
		}
		if val == "" {
			delete(p.Grids[method], k)
			return nil
		}
		if p.Grids[method] == nil {
			p.Grids[method] = map[string][]string{}
		}
		p.Grids[method][k] = strings.Split(val, ",")
		return nil
	}
	if method, k, ok := strings.Cut(key, "."); ok && method != "" && k != "" {
		if p.MethodConfigs == nil {
			p.MethodConfigs = map[string]methods.Config{}
		}
		cfg := methods.Config{}
		for a, b := range p.MethodConfigs[method] {
			cfg[a] = b
		}
		cfg[k] = val
		p.MethodConfigs[method] = cfg
		if g := p.Grids[method]; g != nil {
			delete(g, k)
		}
		return nil
	}
	return fmt.Errorf("-set %s: unknown key (valid: %s; METHOD.KEY; grid.METHOD.KEY)", key, strings.Join(sortedKeys(setters), ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Overrides are the command line's changes to a profile; empty fields
// keep the profile's values.
type Overrides struct {
	Protocols []string // keep only these protocols' plans
	Models    []string // every plan runs these models
	Methods   []string // every plan runs these methods
	Seeds     []uint64
	Order     []string // one task order (domain names or path prefixes)
	Set       []string // key=value settings, applied in order (see Set)
}

// Apply changes p by o. A protocol the profile has no plan for gets the
// models and methods of its first plan.
func (p *Profile) Apply(o Overrides) error {
	if len(o.Protocols) > 0 {
		var plans []Plan
		for _, pr := range o.Protocols {
			if !contains(protocolNames, pr) {
				return fmt.Errorf("unknown protocol %q (valid: %s)", pr, strings.Join(protocolNames, ", "))
			}
			found := false
			for _, pl := range p.Plans {
				if pl.Protocol == pr {
					plans = append(plans, pl)
					found = true
				}
			}
			if !found && len(p.Plans) > 0 {
				plans = append(plans, Plan{Protocol: pr, Models: p.Plans[0].Models, Methods: p.Plans[0].Methods})
			}
		}
		p.Plans = plans
	}
	for i := range p.Plans {
		if len(o.Models) > 0 {
			p.Plans[i].Models = append([]string(nil), o.Models...)
		}
		if len(o.Methods) > 0 {
			p.Plans[i].Methods = append([]string(nil), o.Methods...)
		}
	}
	// Plans of one protocol that the overrides made equal run once.
	var plans []Plan
	for _, pl := range p.Plans {
		if !slices.ContainsFunc(plans, func(q Plan) bool {
			return q.Protocol == pl.Protocol && slices.Equal(q.Models, pl.Models) && slices.Equal(q.Methods, pl.Methods)
		}) {
			plans = append(plans, pl)
		}
	}
	p.Plans = plans
	if len(o.Seeds) > 0 {
		p.Seeds = append([]uint64(nil), o.Seeds...)
	}
	if len(o.Order) > 0 {
		p.Orders = [][]string{append([]string(nil), o.Order...)}
	}
	for _, kv := range o.Set {
		if err := p.Set(kv); err != nil {
			return err
		}
	}
	return p.Check()
}
