package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// Tuning: a method with a grid in the profile (EWC's λ) is tuned per
// model before its test runs. Each grid value (each combination, when a
// method has several keys) trains one sequence run on the profile's first
// task order with seed Profile.TuneSeed — never a test seed — and scores
// it on fixed draws from the VALIDATION splits (no next day). The value
// with the highest ACC − F wins (ACC: mean final accuracy; F: Chaudhry's
// average forgetting over the first T−1 tasks; both from the validation
// accuracy matrix), ties going to the earlier grid value. The choice and
// every grid score are written to OUT/tune/<model>/<method>.config.json, which a
// resumed command reuses, and into every run's config ("tuned.*",
// "tune.scores"). The tuning files end in .config.json so that
// results.LoadRuns, which reads every run file under OUT, skips them.

// tuneCriterion documents the selection rule in result files.
const tuneCriterion = "validation ACC - F"

// tuneChoice is the content of OUT/tune/<model>/<method>.config.json.
type tuneChoice struct {
	Model     string              `json:"model"`
	Method    string              `json:"method"`
	Seed      uint64              `json:"seed"`
	Criterion string              `json:"criterion"`
	Grid      []map[string]string `json:"grid"`
	Scores    []float64           `json:"scores"`
	Choice    map[string]string   `json:"choice"`
}

// scores lists grid values and their scores, e.g. "lambda=1:0.1042;lambda=100:0.2210".
func (c tuneChoice) scores() string {
	parts := make([]string, len(c.Grid))
	for i, g := range c.Grid {
		parts[i] = comboName(g) + ":" + strconv.FormatFloat(c.Scores[i], 'f', 4, 64)
	}
	return strings.Join(parts, ";")
}

// tuneRun is the content of OUT/tune/<model>/<method>/<combo>.config.json.
type tuneRun struct {
	Config    map[string]string `json:"config"`
	R         [][]float64       `json:"R"`
	ACC       float64           `json:"acc"`
	F         float64           `json:"forgetting"`
	Score     float64           `json:"score"`
	Steps     int               `json:"steps"`
	Tokens    int64             `json:"tokens"`
	Criterion string            `json:"criterion"`
}

// combos expands a grid into its combinations: keys sorted, the first
// key varying slowest, values in the grid's order.
func combos(grid map[string][]string) []map[string]string {
	keys := sortedKeys(grid)
	out := []map[string]string{{}}
	for _, k := range keys {
		var next []map[string]string
		for _, c := range out {
			for _, v := range grid[k] {
				d := map[string]string{}
				for a, b := range c {
					d[a] = b
				}
				d[k] = v
				next = append(next, d)
			}
		}
		out = next
	}
	if len(keys) == 0 {
		return nil
	}
	return out
}

// comboName is "k1=v1,k2=v2" with keys sorted.
func comboName(c map[string]string) string {
	keys := sortedKeys(c)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + c[k]
	}
	return strings.Join(parts, ",")
}

// fileSafe replaces path separators in a name.
func fileSafe(s string) string { return strings.NewReplacer("/", "_", "\\", "_").Replace(s) }

// AccForgetting returns ACC = mean_j R[T][j] and Chaudhry's average
// forgetting F = mean_{j<T} (max_{l∈[j,T−1]} R[l][j] − R[T][j]) (tasks
// 1-based, row i after task i) from the rows 0..T of an accuracy matrix
// with T columns. F is 0 for T = 1. The same definitions as package
// results; kept here so that tuning does not depend on it.
func AccForgetting(R [][]float64) (acc, f float64, err error) {
	if len(R) == 0 {
		return 0, 0, errors.New("empty accuracy matrix")
	}
	T := len(R[0])
	if len(R) < T+1 {
		return 0, 0, fmt.Errorf("accuracy matrix has %d rows, want %d", len(R), T+1)
	}
	for _, x := range R[T] {
		acc += x
	}
	acc /= float64(T)
	if T == 1 {
		return acc, 0, nil
	}
	for j := 1; j < T; j++ { // task j (1-based) is column j−1
		peak := math.Inf(-1)
		for l := j; l <= T-1; l++ {
			peak = math.Max(peak, R[l][j-1])
		}
		f += peak - R[T][j-1]
	}
	return acc, f / float64(T-1), nil
}

// tuneAll tunes every (model, method) of the pending jobs whose method
// has a grid, reusing the choices and grid runs already written.
func (r *Runner) tuneAll(jobs [][]RunSpec) error {
	r.tuned = map[string]tuneChoice{}
	type pair struct{ model, method string }
	var pairs []pair
	seen := map[pair]bool{}
	for _, j := range jobs {
		for _, s := range j {
			pr := pair{s.Model, s.Method}
			if len(combos(r.Profile.Grids[s.Method])) > 0 && !seen[pr] {
				seen[pr] = true
				pairs = append(pairs, pr)
			}
		}
	}
	type pending struct {
		pr    pair
		grid  []map[string]string
		score []float64
	}
	var todo []*pending
	var fns []func() error
	for _, pr := range pairs {
		grid := combos(r.Profile.Grids[pr.method])
		path := filepath.Join(r.Out, "tune", pr.model, pr.method+".config.json")
		var c tuneChoice
		if data, err := os.ReadFile(path); err == nil {
			if err := json.Unmarshal(data, &c); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if c.Seed == r.Profile.TuneSeed && reflect.DeepEqual(c.Grid, grid) {
				r.tuned[pr.model+"/"+pr.method] = c
				continue
			}
		}
		pd := &pending{pr: pr, grid: grid, score: make([]float64, len(grid))}
		todo = append(todo, pd)
		for i, g := range grid {
			i, g := i, g
			file := filepath.ToSlash(filepath.Join("tune", pr.model, pr.method, fileSafe(comboName(g))+".config.json"))
			if data, err := os.ReadFile(filepath.Join(r.Out, file)); err == nil {
				var tr tuneRun
				if err := json.Unmarshal(data, &tr); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(r.Out, file), err)
				}
				pd.score[i] = tr.Score
				continue
			}
			spec := RunSpec{Protocol: Sequence, Model: pr.model, Method: pr.method, Seed: r.Profile.TuneSeed, Order: r.Profile.Orders[0], File: file}
			r.track.plan(1, float64(len(spec.Order)*r.Profile.Steps)*r.cost(spec.Model))
			fns = append(fns, func() error {
				score, err := r.tuneOne(spec, g)
				pd.score[i] = score
				return err
			})
		}
	}
	if err := r.pool(fns); err != nil {
		return err
	}
	for _, pd := range todo {
		best := 0
		for i, s := range pd.score {
			if s > pd.score[best] {
				best = i
			}
		}
		c := tuneChoice{Model: pd.pr.model, Method: pd.pr.method, Seed: r.Profile.TuneSeed, Criterion: tuneCriterion,
			Grid: pd.grid, Scores: pd.score, Choice: pd.grid[best]}
		if err := writeJSON(filepath.Join(r.Out, "tune", pd.pr.model, pd.pr.method+".config.json"), c); err != nil {
			return err
		}
		r.tuned[pd.pr.model+"/"+pd.pr.method] = c
		r.track.log("tuned %s on %s: %s (%s)", pd.pr.method, pd.pr.model, comboName(c.Choice), c.scores())
	}
	return nil
}

// tuneOne trains one grid value on the validation splits and writes its
// file.
func (r *Runner) tuneOne(s RunSpec, values map[string]string) (float64, error) {
	info, err := r.Build.Methods.Lookup(s.Method)
	if err != nil {
		return 0, err
	}
	cfg := r.baseConfig(info)
	for k, v := range values {
		cfg[k] = v
	}
	o, err := r.open(s, s.Seed, cfg, true)
	if err != nil {
		return 0, err
	}
	defer o.close()
	r.track.begin(s.Name(), r.cost(s.Model))
	res, err := RunSequence(o.loop, o.order, nil, r.Profile.Steps)
	if err != nil {
		return 0, fmt.Errorf("tuning: %w", err)
	}
	acc, f, err := AccForgetting(res.R)
	if err != nil {
		return 0, fmt.Errorf("tuning %s: %w", s.Name(), err)
	}
	tr := tuneRun{Config: values, R: res.R, ACC: acc, F: f, Score: acc - f,
		Steps: o.loop.Steps, Tokens: o.loop.Tokens, Criterion: tuneCriterion}
	if err := writeJSON(filepath.Join(r.Out, s.File), tr); err != nil {
		return 0, err
	}
	r.track.end(s.Name(), float64(len(s.Order)*r.Profile.Steps)*r.cost(s.Model))
	return tr.Score, nil
}
