package bench

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/models"
)

func TestGridEdge(t *testing.T) {
	for _, c := range []struct {
		values []string
		best   string
		add    string
		at     int
		edge   bool
	}{
		{[]string{"0", "1", "10", "100"}, "100", "1000", 4, true}, // largest: ×10 after it
		{[]string{"0", "1", "10", "100"}, "10", "", 0, false},     // interior
		{[]string{"0", "1", "10", "100"}, "1", "", 0, false},      // smallest positive, 0 scored worse: bracketed
		{[]string{"0", "1", "10", "100"}, "0", "0.1", 1, true},    // no penalty best: smallest positive / 10 before it
		{[]string{"0", "0.1", "1"}, "0", "0.01", 1, true},         // 0.1/10 printed as 0.01, not 0.010000000000000002
		{[]string{"1", "10"}, "1", "0.1", 0, true},                // smallest of a grid without 0
		{[]string{"10", "1"}, "1", "0.1", 1, true},                // order kept: inserted before the smallest
		{[]string{"5"}, "5", "50", 1, true},                       // one value: the largest
		{[]string{"0"}, "0", "", 0, true},                         // only zeros: an edge, nothing to add
		{[]string{"100000"}, "100000", "1000000", 1, true},        // plain decimal, no exponent
		{[]string{"a", "b"}, "a", "", 0, false},                   // non-numeric: never an edge
		{[]string{"-1", "1"}, "1", "", 0, false},                  // negative values: left alone
	} {
		add, at, edge := gridEdge(c.values, c.best)
		if add != c.add || at != c.at || edge != c.edge {
			t.Errorf("gridEdge(%v, %s) = %q, %d, %v; want %q, %d, %v", c.values, c.best, add, at, edge, c.add, c.at, c.edge)
		}
	}
	// Two keys: each numeric key on an edge gains a value; a key at its
	// cap gains none but still counts as an edge.
	grid := map[string][]string{"lambda": {"0", "1", "10"}, "mode": {"x", "y"}, "gamma": {"0.5", "1"}}
	ext := map[string]int{"gamma": tuneMaxExtensions}
	added, edge := extendGrid(grid, map[string]string{"lambda": "10", "mode": "y", "gamma": "1"}, ext)
	want := map[string][]string{"lambda": {"0", "1", "10", "100"}, "mode": {"x", "y"}, "gamma": {"0.5", "1"}}
	if !added || !edge || !cmp.Equal(want, grid) || ext["lambda"] != 1 {
		t.Errorf("extendGrid: added %v edge %v grid %v ext %v", added, edge, grid, ext)
	}
}

// countingBuilders are the fakes, counting the models they build.
func countingBuilders() (Builders, *int) {
	b := fakeBuilders(nil, 0)
	built := new(int)
	newModel := b.NewModel
	b.NewModel = func(name string, classes []int, threads int, seed uint64) (models.Model, error) {
		*built++
		return newModel(name, classes, threads, seed)
	}
	return b, built
}

// tuneRunner is a runner over the fakes that tunes the anchor method's
// lambda with tuning seeds 1000 and 1001, counting the models it builds
// (one per tuning run it trains).
func tuneRunner(t *testing.T, out string, lambdas ...string) (*Runner, *int) {
	t.Helper()
	b, built := countingBuilders()
	r := testRunner(out, b)
	r.Profile.Plans = []Plan{{Sequence, []string{"fake"}, []string{"anchor"}}}
	r.Profile.Grids = map[string]map[string][]string{"anchor": {"lambda": lambdas}}
	r.Profile.TuneSeeds = []uint64{1000, 1001}
	return r, built
}

// writeScores writes tuning run files with the given ACC − F per value
// and seed, as if those runs had been trained.
func writeScores(t *testing.T, out string, scores map[string][2]float64) {
	t.Helper()
	for v, s := range scores {
		for k, seed := range []uint64{1000, 1001} {
			file := tuneFile("fake", "anchor", map[string]string{"lambda": v}, seed)
			if err := writeJSON(filepath.Join(out, file), tuneRun{Config: map[string]string{"lambda": v}, Seed: seed, Score: s[k]}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func readChoice(t *testing.T, out string) tuneChoice {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "tune/fake/anchor.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c tuneChoice
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func lambdas(c tuneChoice) []string {
	var out []string
	for _, g := range c.Grid {
		out = append(out, g["lambda"])
	}
	return out
}

// Grid extension from prepared scores (no training: every run the
// tuning asks for has a file, so a trained run would show as a built
// model): at the top edge, at 0, and the cap of three extensions.
func TestTuneExtends(t *testing.T) {
	for _, c := range []struct {
		name    string
		grid    []string
		scores  map[string][2]float64 // per value, per tuning seed
		final   []string
		choice  string
		edge    bool
		extends int
	}{
		{"top edge, then interior", []string{"0", "1", "10"},
			map[string][2]float64{"0": {0.1, 0.1}, "1": {0.2, 0.2}, "10": {0.3, 0.3}, "100": {0.25, 0.25}},
			[]string{"0", "1", "10", "100"}, "10", false, 1},
		{"top edge, capped", []string{"0", "1", "10"},
			map[string][2]float64{"0": {0, 0}, "1": {0.1, 0.1}, "10": {0.2, 0.2}, "100": {0.3, 0.3}, "1000": {0.4, 0.4}, "10000": {0.5, 0.5}},
			[]string{"0", "1", "10", "100", "1000", "10000"}, "10000", true, 3},
		{"0 wins, then a small value", []string{"0", "1", "10"},
			map[string][2]float64{"0": {0.3, 0.3}, "1": {0.1, 0.1}, "10": {0, 0}, "0.1": {0.35, 0.33}},
			[]string{"0", "0.1", "1", "10"}, "0.1", false, 1},
		{"0 wins, capped", []string{"0", "1", "10"},
			map[string][2]float64{"0": {0.3, 0.3}, "1": {0.1, 0.1}, "10": {0, 0}, "0.1": {0.2, 0.2}, "0.01": {0.25, 0.25}, "0.001": {0.3, 0.3}},
			[]string{"0", "0.001", "0.01", "0.1", "1", "10"}, "0", true, 3}, // a tie goes to the earlier value, 0
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			writeScores(t, out, c.scores)
			r, built := tuneRunner(t, out, c.grid...)
			if err := r.tuneAll(Jobs(Expand(r.Profile))); err != nil {
				t.Fatal(err)
			}
			if *built != 0 {
				t.Errorf("trained %d runs; every run had a file", *built)
			}
			ch := readChoice(t, out)
			if diff := cmp.Diff(c.final, lambdas(ch)); diff != "" {
				t.Errorf("final grid (-want +got):\n%s", diff)
			}
			if ch.Choice["lambda"] != c.choice || ch.Edge != c.edge || ch.Extensions["lambda"] != c.extends {
				t.Errorf("choice %v, edge %v, extensions %v; want %s, %v, %d", ch.Choice, ch.Edge, ch.Extensions, c.choice, c.edge, c.extends)
			}
			if diff := cmp.Diff(c.grid, ch.ProfileGrid["lambda"]); diff != "" {
				t.Errorf("profile grid (-want +got):\n%s", diff)
			}
			for i, v := range lambdas(ch) {
				s := c.scores[v]
				if ch.SeedScores[i][0] != s[0] || ch.SeedScores[i][1] != s[1] || math.Abs(ch.Scores[i]-(s[0]+s[1])/2) > 1e-12 {
					t.Errorf("lambda=%s: scores %v (mean %v), want %v", v, ch.SeedScores[i], ch.Scores[i], s)
				}
			}
			cfg := ch.config()
			if cfg["tune.edge"] != map[bool]string{false: "false", true: "true"}[c.edge] || cfg["tune.seeds"] != "1000,1001" ||
				!strings.HasPrefix(cfg["tune.scores"], "lambda=0:") {
				t.Errorf("run config %v", cfg)
			}
		})
	}
}

// A value's score is the mean over the tuning seeds: seed 1000 alone
// would pick 1 and seed 1001 alone 100; the mean picks 10.
func TestTuneMeanOverSeeds(t *testing.T) {
	out := t.TempDir()
	writeScores(t, out, map[string][2]float64{
		"0": {0.1, 0.1}, "1": {0.5, 0.0}, "10": {0.3, 0.3}, "100": {0.0, 0.5}, "1000": {0, 0},
	})
	r, built := tuneRunner(t, out, "0", "1", "10", "100", "1000")
	if err := r.tuneAll(Jobs(Expand(r.Profile))); err != nil {
		t.Fatal(err)
	}
	ch := readChoice(t, out)
	// Means: 0.1, 0.25, 0.3, 0.25, 0.
	want := []float64{0.1, 0.25, 0.3, 0.25, 0}
	if diff := cmp.Diff(want, ch.Scores, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })); diff != "" {
		t.Errorf("mean scores (-want +got):\n%s", diff)
	}
	if *built != 0 || ch.Choice["lambda"] != "10" || ch.Edge || !cmp.Equal([]uint64{1000, 1001}, ch.Seeds) {
		t.Errorf("built %d, choice %v, edge %v, seeds %v", *built, ch.Choice, ch.Edge, ch.Seeds)
	}
}

// Trained tuning runs (the fakes): one file per value and seed; a
// resumed command trains nothing and writes the same choice, from the
// choice file or, without it, from the run files; tuning seeds that are
// missing or that are also test seeds are refused.
func TestTuneResume(t *testing.T) {
	out := t.TempDir()
	r, built := tuneRunner(t, out, "0.1", "3")
	if err := r.tuneAll(Jobs(Expand(r.Profile))); err != nil {
		t.Fatal(err)
	}
	ch := readChoice(t, out)
	n := len(ch.Grid) * 2
	if *built != n {
		t.Errorf("trained %d runs for %d values × 2 seeds", *built, len(ch.Grid))
	}
	for _, g := range ch.Grid {
		for _, seed := range []uint64{1000, 1001} {
			data, err := os.ReadFile(filepath.Join(out, tuneFile("fake", "anchor", g, seed)))
			var tr tuneRun
			if err == nil {
				err = json.Unmarshal(data, &tr)
			}
			if err != nil || tr.Seed != seed || tr.Config["lambda"] != g["lambda"] || len(tr.R) != 4 {
				t.Errorf("run file of %v seed %d: %+v, %v", g, seed, tr, err)
			}
		}
	}
	t.Logf("fake anchor: %s, choice %v, edge %v", ch.scores(), ch.Choice, ch.Edge)
	want, _ := os.ReadFile(filepath.Join(out, "tune/fake/anchor.config.json"))
	for _, drop := range []bool{false, true} {
		if drop {
			os.Remove(filepath.Join(out, "tune/fake/anchor.config.json"))
		}
		r, built := tuneRunner(t, out, "0.1", "3")
		if err := r.tuneAll(Jobs(Expand(r.Profile))); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(out, "tune/fake/anchor.config.json"))
		if *built != 0 || string(got) != string(want) {
			t.Errorf("resumed (choice file removed: %v): trained %d runs; choice file changed: %v", drop, *built, string(got) != string(want))
		}
		if c := r.tuned["fake/anchor"]; c.Choice["lambda"] != ch.Choice["lambda"] {
			t.Errorf("resumed choice %v, want %v", c.Choice, ch.Choice)
		}
	}
	for _, c := range []struct {
		seeds []uint64
		want  string
	}{
		{nil, "no tuning seeds (-set tune_seeds="},
		{[]uint64{1000, 2}, "seed 2 is both a tuning seed and a test seed"},
	} {
		r, _ := tuneRunner(t, t.TempDir(), "1")
		r.Profile.TuneSeeds = c.seeds
		if err := r.tuneAll(Jobs(Expand(r.Profile))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tune seeds %v: error %v, want %q", c.seeds, err, c.want)
		}
	}
}

func TestSetTuneSeeds(t *testing.T) {
	p := Default()
	if !cmp.Equal([]uint64{1000, 1001}, p.TuneSeeds) {
		t.Errorf("default tune seeds %v", p.TuneSeeds)
	}
	if err := p.Set("tune_seeds=7, 8,9"); err != nil || !cmp.Equal([]uint64{7, 8, 9}, p.TuneSeeds) {
		t.Errorf("tune_seeds=7, 8,9: %v, %v", p.TuneSeeds, err)
	}
	for kv, want := range map[string]string{
		"tune_seeds=7,x": "want comma-separated unsigned integers",
		"tune_seeds=":    "want comma-separated unsigned integers",
		"tune_seeds=7,7": "seed 7 twice",
	} {
		if err := p.Set(kv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set(%q) = %v, want %q", kv, err, want)
		}
	}
	for _, name := range []string{"paper"} {
		p, _ := LookupProfile(name)
		for _, m := range []string{"ewc", "ewc-online"} {
			g := p.Grids[m]["lambda"]
			if len(g) < 3 || g[0] != "0" {
				t.Errorf("%s: %s grid %v does not start at 0", name, m, g)
			}
		}
	}
}
