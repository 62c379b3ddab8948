package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Tuning: a method with a grid in the profile (EWC's λ) is tuned per
// model before its test runs. Each grid value (each combination, when a
// method has several keys) trains one sequence run per seed of
// Profile.TuneSeeds — never a test seed — on the profile's first task
// order, and each run is scored on fixed draws from the VALIDATION splits
// (no next day) by ACC − F (ACC: mean final accuracy; F: Chaudhry's
// average forgetting over the first T−1 tasks; both from the validation
// accuracy matrix). A value's score is the mean over the tuning seeds; the
// highest wins, ties going to the earlier grid value.
//
// A grid brackets its optimum or is extended (only numeric keys, whose
// values are all finite and ≥ 0; other keys are left as they are): when
// the winner's value of a key is the largest of the key's values,
// largest×10 is added; when it is 0 ("no penalty is best"), or the
// smallest value of a grid without 0, smallest positive/10 is added. The
// new values are run, the grid is scored again, and so on, at most
// tuneMaxExtensions times per key. The choice records whether the winner
// still sits on an edge ("edge").
//
// Each run writes OUT/tune/<model>/<method>/<combo>-seed<k>.config.json;
// the choice (final grid, every mean and per-seed score, the choice, the
// edge flag) goes to OUT/tune/<model>/<method>.config.json. A resumed
// command reuses both, and every run of the method records the choice in
// its config ("tuned.KEY" and tuneChoice.config). The tuning files end in
// .config.json so that results.LoadRuns, which reads every run file under
// OUT, skips them.

// tuneCriterion documents the selection rule in result files.
const tuneCriterion = "validation ACC - F, mean over the tuning seeds"

// tuneMaxExtensions caps how many values one key's grid gains.
const tuneMaxExtensions = 3

// tuneChoice is the content of OUT/tune/<model>/<method>.config.json.
type tuneChoice struct {
	Model     string   `json:"model"`
	Method    string   `json:"method"`
	Seeds     []uint64 `json:"seeds"`
	Criterion string   `json:"criterion"`
	// ProfileGrid is the profile's grid before any extension; a resumed
	// command reuses the choice when it and Seeds are unchanged.
	ProfileGrid map[string][]string `json:"profile_grid"`
	// Grid is the final grid, extensions included, in combos' order;
	// Scores[i] is the mean over Seeds of SeedScores[i].
	Grid       []map[string]string `json:"grid"`
	Scores     []float64           `json:"scores"`
	SeedScores [][]float64         `json:"seed_scores"`
	// Extensions counts the values added to each key.
	Extensions map[string]int    `json:"extensions,omitempty"`
	Choice     map[string]string `json:"choice"`
	// Edge says the choice is still on an edge of its grid (see
	// gridEdge) after the extensions: the grid does not bracket it.
	Edge bool `json:"edge"`
}

// scores lists grid values and their scores, e.g. "lambda=1:0.1042;lambda=100:0.2210".
func (c tuneChoice) scores() string {
	parts := make([]string, len(c.Grid))
	for i, g := range c.Grid {
		parts[i] = comboName(g) + ":" + strconv.FormatFloat(c.Scores[i], 'f', 4, 64)
	}
	return strings.Join(parts, ";")
}

// config is what every run of the tuned method records about its
// tuning, beside its "tuned.KEY" values.
func (c tuneChoice) config() map[string]string {
	seeds := make([]string, len(c.Seeds))
	for i, s := range c.Seeds {
		seeds[i] = strconv.FormatUint(s, 10)
	}
	return map[string]string{
		"tune.criterion": c.Criterion,
		"tune.seeds":     strings.Join(seeds, ","),
		"tune.scores":    c.scores(),
		"tune.edge":      strconv.FormatBool(c.Edge),
	}
}

// tuneRun is the content of OUT/tune/<model>/<method>/<combo>-seed<k>.config.json.
type tuneRun struct {
	Config    map[string]string `json:"config"`
	Seed      uint64            `json:"seed"`
	R         [][]float64       `json:"R"`
	ACC       float64           `json:"acc"`
	F         float64           `json:"forgetting"`
	Score     float64           `json:"score"`
	Steps     int               `json:"steps"`
	Tokens    int64             `json:"tokens"`
	Criterion string            `json:"criterion"`
}

// tuneFile is the path, under OUT, of one grid value's run with seed.
func tuneFile(model, method string, values map[string]string, seed uint64) string {
	name := fileSafe(comboName(values)) + "-seed" + strconv.FormatUint(seed, 10) + ".config.json"
	return filepath.ToSlash(filepath.Join("tune", model, method, name))
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

// gridEdge reports whether value, the winner's value of a key whose grid
// values are values, is on an edge of that grid, and the value to add to
// bracket it ("" when none can be added) with the index to insert it at.
// Only numeric keys have edges: every value a finite number ≥ 0. The
// edges are the largest value (add largest×10 after it), 0 (no penalty
// is best: add smallest positive/10 before the smallest positive) and,
// when the grid has no 0, the smallest value (add smallest/10 before
// it). The smallest positive value beating a 0 in the grid is bracketed.
func gridEdge(values []string, value string) (add string, at int, edge bool) {
	xs := make([]float64, len(values))
	for i, v := range values {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return "", 0, false
		}
		xs[i] = x
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil || len(xs) == 0 {
		return "", 0, false
	}
	hi, lo := -1, -1 // indices of the largest and the smallest positive value
	zero := false
	for i, v := range xs {
		if v == 0 {
			zero = true
			continue
		}
		if hi < 0 || v > xs[hi] {
			hi = i
		}
		if lo < 0 || v < xs[lo] {
			lo = i
		}
	}
	switch {
	case x == 0:
		if lo < 0 {
			return "", 0, true // only zeros: nothing to add
		}
		return tuneValue(xs[lo] / 10), lo, true
	case x == xs[hi]:
		return tuneValue(xs[hi] * 10), hi + 1, true
	case x == xs[lo] && !zero:
		return tuneValue(xs[lo] / 10), lo, true
	}
	return "", 0, false
}

// tuneValue formats an added grid value in plain decimal, rounded to 12
// significant digits (so that 0.1/10 is "0.01").
func tuneValue(x float64) string {
	y, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	return strconv.FormatFloat(y, 'f', -1, 64)
}

// extendGrid adds one value to each key of grid on whose edge best
// sits, unless the key already gained tuneMaxExtensions values (counted
// in ext, which it updates). It reports whether it added any, and whether
// best is on an edge of any key (after the additions: an added value
// does not un-edge best until it has been scored).
func extendGrid(grid map[string][]string, best map[string]string, ext map[string]int) (added, edge bool) {
	for _, k := range sortedKeys(grid) {
		v, at, e := gridEdge(grid[k], best[k])
		if !e {
			continue
		}
		edge = true
		if v == "" || ext[k] >= tuneMaxExtensions || contains(grid[k], v) {
			continue
		}
		vals := append([]string(nil), grid[k][:at]...)
		vals = append(vals, v)
		grid[k] = append(vals, grid[k][at:]...)
		ext[k]++
		added = true
	}
	return added, edge
}

// tuneKey names one tuning run.
type tuneKey struct {
	combo string
	seed  uint64
}

// tuning is one (model, method)'s tuning in progress.
type tuning struct {
	model, method string
	grid          map[string][]string // current grid
	ext           map[string]int
	score         map[tuneKey]float64 // ACC − F of each finished run
	done          bool
	edge          bool
}

// best returns the current grid's combinations, their mean scores over
// seeds and per-seed scores, and the index of the best (the first of
// equals).
func (t *tuning) best(seeds []uint64) (grid []map[string]string, mean []float64, per [][]float64, best int) {
	grid = combos(t.grid)
	mean = make([]float64, len(grid))
	per = make([][]float64, len(grid))
	for i, g := range grid {
		per[i] = make([]float64, len(seeds))
		for k, s := range seeds {
			per[i][k] = t.score[tuneKey{comboName(g), s}]
			mean[i] += per[i][k]
		}
		mean[i] /= float64(len(seeds))
		if mean[i] > mean[best] {
			best = i
		}
	}
	return grid, mean, per, best
}

// tuneAll tunes every (model, method) of the pending jobs whose method
// has a grid, reusing the choices and grid runs already written. The
// grids of all pairs are run together (one pool), then extended and run
// again until no grid changes.
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
	if len(pairs) == 0 {
		return nil
	}
	seeds := r.Profile.TuneSeeds
	if len(seeds) == 0 {
		return fmt.Errorf("profile %s: method %s has a tuning grid but the profile has no tuning seeds (-set tune_seeds=1000,1001)", r.Profile.Name, pairs[0].method)
	}
	for _, s := range seeds {
		if slices.Contains(r.Profile.Seeds, s) {
			return fmt.Errorf("profile %s: seed %d is both a tuning seed and a test seed", r.Profile.Name, s)
		}
	}
	var todo []*tuning
	for _, pr := range pairs {
		path := filepath.Join(r.Out, "tune", pr.model, pr.method+".config.json")
		if data, err := os.ReadFile(path); err == nil {
			var c tuneChoice
			if err := json.Unmarshal(data, &c); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if slices.Equal(c.Seeds, seeds) && reflect.DeepEqual(c.ProfileGrid, r.Profile.Grids[pr.method]) {
				r.tuned[pr.model+"/"+pr.method] = c
				continue
			}
		}
		if r.TuneFrom != "" {
			return fmt.Errorf("-tune-from %s holds no tuning of %s on %s with tuning seeds %v and grid %v: add them to its command (sleepbench run -tune-only) and run it again",
				r.TuneFrom, pr.method, pr.model, seeds, r.Profile.Grids[pr.method])
		}
		grid := map[string][]string{}
		for k, v := range r.Profile.Grids[pr.method] {
			grid[k] = append([]string(nil), v...)
		}
		todo = append(todo, &tuning{model: pr.model, method: pr.method, grid: grid, ext: map[string]int{}, score: map[tuneKey]float64{}})
	}
	for {
		type result struct {
			t     *tuning
			key   tuneKey
			score float64
		}
		var results []*result
		var fns []func() error
		for _, t := range todo {
			if t.done {
				continue
			}
			for _, g := range combos(t.grid) {
				for _, seed := range seeds {
					key := tuneKey{comboName(g), seed}
					if _, ok := t.score[key]; ok {
						continue
					}
					file := tuneFile(t.model, t.method, g, seed)
					if data, err := os.ReadFile(filepath.Join(r.Out, file)); err == nil {
						var tr tuneRun
						if err := json.Unmarshal(data, &tr); err != nil {
							return fmt.Errorf("%s: %w", filepath.Join(r.Out, file), err)
						}
						t.score[key] = tr.Score
						continue
					}
					spec := RunSpec{Protocol: Sequence, Model: t.model, Method: t.method, Seed: seed, Order: r.Profile.Orders[0], File: file}
					r.track.plan(1, float64(len(spec.Order)*r.Profile.Steps)*r.cost(spec.Model))
					res := &result{t: t, key: key}
					results = append(results, res)
					g := g
					fns = append(fns, func() error {
						var err error
						res.score, err = r.tuneOne(spec, g)
						return err
					})
				}
			}
		}
		if err := r.pool(fns); err != nil {
			return err
		}
		for _, res := range results {
			res.t.score[res.key] = res.score
		}
		more := false
		for _, t := range todo {
			if t.done {
				continue
			}
			grid, mean, _, best := t.best(seeds)
			added, edge := extendGrid(t.grid, grid[best], t.ext)
			if added {
				more = true
				r.track.log("tuning %s on %s: %s is on an edge of its grid (%s); extending", t.method, t.model, comboName(grid[best]),
					tuneChoice{Grid: grid, Scores: mean}.scores())
			} else {
				t.done, t.edge = true, edge
			}
		}
		if !more {
			break
		}
	}
	for _, t := range todo {
		grid, mean, per, best := t.best(seeds)
		c := tuneChoice{Model: t.model, Method: t.method, Seeds: seeds, Criterion: tuneCriterion,
			ProfileGrid: r.Profile.Grids[t.method], Grid: grid, Scores: mean, SeedScores: per,
			Choice: grid[best], Edge: t.edge}
		if len(t.ext) > 0 {
			c.Extensions = t.ext
		}
		if err := writeJSON(filepath.Join(r.Out, "tune", t.model, t.method+".config.json"), c); err != nil {
			return err
		}
		r.tuned[t.model+"/"+t.method] = c
		note := ""
		if c.Edge {
			note = "; still on an edge of its grid"
		}
		r.track.log("tuned %s on %s: %s (%s)%s", t.method, t.model, comboName(c.Choice), c.scores(), note)
	}
	return nil
}

// tuneOne trains one grid value on the validation splits with the seed
// of s and writes its file.
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
	tr := tuneRun{Config: values, Seed: s.Seed, R: res.R, ACC: acc, F: f, Score: acc - f,
		Steps: o.loop.Steps, Tokens: o.loop.Tokens, Criterion: tuneCriterion}
	if err := writeJSON(filepath.Join(r.Out, s.File), tr); err != nil {
		return 0, err
	}
	r.track.end(s.Name(), float64(len(s.Order)*r.Profile.Steps)*r.cost(s.Model))
	return tr.Score, nil
}
