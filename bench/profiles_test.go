package bench

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
	"github.com/sleepbench/sleepbench/tasks"
)

func TestBuiltinProfiles(t *testing.T) {
	for _, name := range ProfileNames() {
		p, err := LookupProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		got := map[string]bool{}
		for _, pl := range p.Plans {
			got[pl.Protocol] = true
		}
		if len(got) != 3 {
			t.Errorf("%s has plans for %v, want all three protocols", name, got)
		}
		if len(Expand(p)) == 0 {
			t.Errorf("%s expands to no runs", name)
		}
	}
	q := Quick()
	for _, s := range Expand(q) {
		if s.Model != "custom" {
			t.Errorf("quick runs model %s", s.Model)
		}
	}
	d := Default()
	if len(d.Seeds) < 3 || d.MethodConfigs["ewc"]["lambda"] == "" || Paper().Grids["ewc"] == nil {
		t.Errorf("default: seeds %v, ewc %v; paper grids %v", d.Seeds, d.MethodConfigs["ewc"], Paper().Grids)
	}
	if _, err := LookupProfile("huge"); err == nil || !strings.Contains(err.Error(), "valid: quick, default, paper") {
		t.Errorf("unknown profile: %v", err)
	}
	// Fresh copies: editing one does not touch the next.
	q.Plans[0].Models[0] = "x"
	if Quick().Plans[0].Models[0] != "custom" {
		t.Error("Quick returns shared slices")
	}
}

func TestSet(t *testing.T) {
	p := Quick()
	for _, kv := range []string{"steps=7", "lr=0.01", "schedule=constant", "ewc.lambda=5", "grid.replay.buffer=10,20", "interference="} {
		if err := p.Set(kv); err != nil {
			t.Fatalf("%s: %v", kv, err)
		}
	}
	if p.Steps != 7 || p.LR != 0.01 || p.Schedule != Constant || p.Interference != "" {
		t.Errorf("settings not applied: %+v", p)
	}
	if diff := cmp.Diff(methods.Config{"lambda": "5", "fisher_samples": "16"}, p.MethodConfigs["ewc"]); diff != "" {
		t.Errorf("ewc config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10", "20"}, p.Grids["replay"]["buffer"]); diff != "" {
		t.Errorf("grid (-want +got):\n%s", diff)
	}
	// Setting a method key drops its grid.
	d := Paper()
	if err := d.Set("ewc.lambda=3"); err != nil || len(d.Grids["ewc"]) != 0 {
		t.Errorf("ewc.lambda=3 left grid %v (%v)", d.Grids["ewc"], err)
	}
	if Paper().Grids["ewc"]["lambda"] == nil {
		t.Error("Set changed the built-in profile")
	}
	for kv, want := range map[string]string{
		"stepz=3":     "unknown key (valid: batch, buffer, checkpoint_every, clip, ctx",
		"steps=-1":    "want a non-negative integer",
		"lr=fast":     "want a non-negative number",
		"schedule=up": "want cosine or constant",
		"novalue":     "want key=value",
	} {
		if err := p.Set(kv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set(%q) = %v, want %q", kv, err, want)
		}
	}
}

func TestApply(t *testing.T) {
	p := Default()
	err := p.Apply(Overrides{Protocols: []string{"dormancy", "sequence"}, Models: []string{"gpt2-mini"}, Methods: []string{"naive"},
		Seeds: []uint64{4}, Order: []string{"email", "my/corpus"}, Set: []string{"days=2"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Plan{{Dormancy, []string{"gpt2-mini"}, []string{"naive"}}, {Sequence, []string{"gpt2-mini"}, []string{"naive"}}}
	if diff := cmp.Diff(want, p.Plans); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	if p.Days != 2 || p.Seeds[0] != 4 || p.Orders[0][1] != "my/corpus" {
		t.Errorf("overrides not applied: %+v", p)
	}
	// Expand runs sequence before dormancy whatever the flag order.
	if s := Expand(p); len(s) != 2 || s[0].Protocol != Sequence {
		t.Errorf("expanded %+v", s)
	}
	if err := p.Apply(Overrides{Protocols: []string{"nap"}}); err == nil || !strings.Contains(err.Error(), "valid: sequence, dormancy, compression") {
		t.Errorf("unknown protocol: %v", err)
	}
	if err := p.Apply(Overrides{Order: []string{"email", "email"}}); err == nil || !strings.Contains(err.Error(), `domain "email" twice`) {
		t.Errorf("repeated domain: %v", err)
	}
}

func TestSetClassify(t *testing.T) {
	p := Quick()
	if err := p.Set("objective=classify"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"spam", "book", "party", "subject", "genre"}}, p.Orders); diff != "" {
		t.Errorf("orders (-want +got):\n%s", diff)
	}
	if p.Interference != "" || p.Objective != Classify {
		t.Errorf("interference %q, objective %q", p.Interference, p.Objective)
	}
	if DefaultOrder()[0] != "email" {
		t.Error("Set changed the default order")
	}
}

// Overriding the models of the default profile makes its two sequence
// plans overlap; each run is still listed once.
func TestExpandOverlappingPlans(t *testing.T) {
	p := Default()
	if err := p.Apply(Overrides{Models: []string{"custom"}}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range Expand(p) {
		if seen[s.File] {
			t.Errorf("%s listed twice", s.File)
		}
		seen[s.File] = true
	}
	if !seen["runs/sequence/custom/naive/seed1.json"] || !seen["runs/sequence/custom/joint/seed1.json"] {
		t.Errorf("runs missing: %v", seen)
	}
}

// model_lr gives a model its own rate; min_lr scales with it; the run
// records the rates it trained with.
func TestModelLR(t *testing.T) {
	p := Default()
	for _, kv := range []string{"lr=1e-3", "min_lr=1e-4", "model_lr=gpt2-mini:3e-4,bert-mini:2e-3"} {
		if err := p.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	// LR 1e-3, MinLR 1e-4: gpt2-mini 3e-4 and 3e-5; custom keeps 1e-3, 1e-4.
	for model, want := range map[string][2]float64{"gpt2-mini": {3e-4, 3e-5}, "bert-mini": {2e-3, 2e-4}, "custom": {1e-3, 1e-4}} {
		s := p.settings(model)
		if math.Abs(s.LR-want[0]) > 1e-15 || math.Abs(s.MinLR-want[1]) > 1e-15 {
			t.Errorf("%s: lr %g min %g, want %g %g", model, s.LR, s.MinLR, want[0], want[1])
		}
	}
	for _, bad := range []string{"model_lr=gpt2-mini", "model_lr=gpt2-mini:-1", "model_lr=:1e-3"} {
		if err := p.Set(bad); err == nil || !strings.Contains(err.Error(), "MODEL:LR") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// train_mask_rate reaches the training draws of a masked-LM model's
// tasks (and its run record), and no decoder's; evaluation keeps 15%.
func TestTrainMaskRate(t *testing.T) {
	p := Default()
	for _, bad := range []string{"train_mask_rate=1.5", "train_mask_rate=-0.1", "train_mask_rate=x"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	for _, lm := range []models.Objective{models.Masked, models.NextToken} {
		b := fakeBuilders(nil, 0)
		describe := b.Describe
		b.Describe = func(name string) (ModelInfo, error) {
			info, err := describe(name)
			info.LM = lm
			return info, err
		}
		var rates []float64
		openTask := b.OpenTask
		b.OpenTask = func(spec tasks.Spec, index int) (Task, error) {
			rates = append(rates, spec.TrainMaskRate)
			return openTask(spec, index)
		}
		out := t.TempDir()
		r := testRunner(out, b)
		r.Profile.Objective = LM
		if err := r.Profile.Set("train_mask_rate=0.4"); err != nil {
			t.Fatal(err)
		}
		r.Profile.Plans = []Plan{{Sequence, []string{"fake"}, []string{"naive"}}}
		r.Profile.Seeds = []uint64{1}
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		want := 0.4
		if lm != models.Masked {
			want = 0
		}
		if len(rates) == 0 || slices.IndexFunc(rates, func(x float64) bool { return x != want }) >= 0 {
			t.Errorf("%v: tasks opened with train mask rates %v, want all %g", lm, rates, want)
		}
		run, err := results.LoadRun(filepath.Join(out, "runs", "sequence", "fake", "naive", "seed1.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := run.Config["train_mask_rate"]; (lm == models.Masked) != ok || ok && got != "0.4" {
			t.Errorf("%v: run config train_mask_rate %q (%v)", lm, got, ok)
		}
	}
}
