package bench

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
)

// pluginName is a method that only this file knows: docs/PLUGINS.md's
// L2 pull towards the parameters at the end of the last task, registered
// as a plugin author would, with its place in the tables declared in its
// Info and nowhere else.
const pluginName = "l2-pull"

var pluginDefaults = map[string]string{"strength": "0.01"}

type l2pull struct {
	methods.Base
	strength float64
	theta    *models.Params
}

func init() {
	methods.Register(methods.Info{
		Name:     pluginName,
		Summary:  "L2 pull towards the parameters at the end of the last task (a plugin registered by a test)",
		Defaults: pluginDefaults,
		Rank:     15,               // between EWC (10) and replay (20)
		Baseline: "naive",          // its gains are paired with naive's runs
		Control:  "replay-matched", // and with the compute-matched control's
		New: func(cfg methods.Config) (methods.Method, error) {
			s := methods.Parse(cfg, pluginDefaults)
			m := &l2pull{strength: s.Float("strength", 0, math.Inf(1))}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}

func (m *l2pull) EndTask(env *methods.Env, _ methods.TaskData) error {
	m.theta = env.Model.Params().Clone()
	return nil
}

func (m *l2pull) AddPenalty(env *methods.Env) float64 {
	if m.theta == nil {
		return 0
	}
	p, g := env.Model.Params().Data, env.Model.Grads().Data
	var pen float64
	for i, v := range p {
		d := v - m.theta.Data[i]
		g[i] += float32(m.strength) * d
		pen += float64(d) * float64(d)
	}
	return m.strength / 2 * pen
}

// TestPlugin runs a tiny profile of the three protocols with the plugin
// beside built-in methods, and checks that the plugin is listed, that
// tables 2-5 show it in the place its Rank gives it, and that table 5
// pairs it with its declared baseline and control. Table 1 (retention)
// and table 6 (the paper's claims) list only the methods that play a
// role in the paper's claims, so neither shows it.
func TestPlugin(t *testing.T) {
	data := dataDir(t)
	if !slices.Contains(methods.Default.Names(), pluginName) {
		t.Fatalf("methods.Default lists %v, without %s", methods.Default.Names(), pluginName)
	}
	info, err := methods.Default.Lookup(pluginName)
	if err != nil {
		t.Fatal(err)
	}
	ewc, _ := methods.Default.Lookup("ewc")
	replay, _ := methods.Default.Lookup("replay")
	if !(ewc.Rank < info.Rank && info.Rank < replay.Rank) {
		t.Fatalf("ranks: ewc %d, %s %d, replay %d", ewc.Rank, pluginName, info.Rank, replay.Rank)
	}

	out := t.TempDir()
	// tiny's budgets: 3 protocols × 5 methods, 2 steps per task.
	order := []string{"naive", "ewc", pluginName, "replay", "replay-matched"}
	r := &Runner{Profile: tiny(t, Overrides{Methods: []string{"replay-matched", pluginName, "replay", "naive", "ewc"}}),
		Build: Real(), Data: data, Out: out, Jobs: 1}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	runs, err := results.LoadRuns(out)
	if err != nil {
		t.Fatal(err)
	}
	s := results.Summarise(runs)

	var got []string
	for _, e := range s.Entries {
		got = append(got, e.Method)
	}
	if !slices.Equal(got, order) {
		t.Errorf("summary entries in order %v, want %v", got, order)
	}
	var b strings.Builder
	if err := results.Render(&b, s, results.FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	tables := b.String()
	// Method column labels: table 2 uses Info.Label, tables 3-4 the names.
	labels := []string{"baseline (naive)", "EWC", pluginName, "replay", "replay-matched (AISP's compute, uniform replay)"}
	for _, c := range []struct {
		title string
		want  []string
	}{
		{"Table 2.", labels},
		{"Table 3.", order},
		{"Table 4.", order},
	} {
		if got := methodColumn(tables, c.title, 2); !slices.Equal(got, c.want) {
			t.Errorf("%s lists methods %q, want %q", c.title, got, c.want)
		}
	}

	// Table 5: the plugin against its baseline and its control, on the
	// sequence protocol's forgetting and the dormancy protocol's
	// retention.
	pairs := map[string]bool{}
	for _, c := range s.Comparisons {
		if c.A == pluginName {
			pairs[c.Kind+" "+c.B+" "+c.Metric] = true
		}
	}
	for _, want := range []string{
		"baseline naive rel_forgetting_avg", "baseline naive retention",
		"control replay-matched rel_forgetting_avg", "control replay-matched retention",
	} {
		if !pairs[want] {
			t.Errorf("no comparison of %s with its %s in the summary (have %v)", pluginName, want, pairs)
		}
	}
	rows := 0
	for _, line := range section(tables, "Table 5.") {
		cells := strings.Split(line, "|")
		if len(cells) > 4 && strings.TrimSpace(cells[2]) == pluginName {
			rows++
			if with, why := strings.TrimSpace(cells[3]), strings.TrimSpace(cells[4]); !(with == "naive" && why == "baseline" || with == "replay-matched" && why == "control") {
				t.Errorf("table 5 compares %s with %s (%s); want naive (baseline) or replay-matched (control)", pluginName, with, why)
			}
		}
	}
	if rows < 4 {
		t.Errorf("table 5 has %d rows of %s, want at least 4:\n%s", rows, pluginName, strings.Join(section(tables, "Table 5."), "\n"))
	}
}

// section returns the lines of the Markdown table titled title.
func section(tables, title string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(tables, "\n") {
		switch {
		case strings.Contains(line, title):
			in = true
		case in && strings.Contains(line, "Table "):
			return out
		case in:
			out = append(out, line)
		}
	}
	return out
}

// methodColumn returns column col (1-based) of the body rows of the
// Markdown table titled title.
func methodColumn(tables, title string, col int) []string {
	var out []string
	for _, line := range section(tables, title) {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(strings.TrimSpace(line), "|") || len(cells) <= col {
			continue
		}
		if c := strings.Trim(strings.TrimSpace(cells[col]), ":-"); c == "" {
			continue // the rule under the header
		}
		out = append(out, strings.TrimSpace(cells[col]))
	}
	if len(out) > 0 {
		out = out[1:] // the header
	}
	return out
}
