package results

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Plots groups runs into the series each figure draws: the accuracy
// matrices and loss curves of the sequence runs, the days of the dormancy
// runs.

// seqGroup is the sequence runs of one model × method × task order, with
// their mean accuracy matrix.
type seqGroup struct {
	model, method, suffix string
	tasks                 []string
	mean                  [][]float64
	n                     int
	runs                  []*Run
}

func sequenceGroups(runs []*Run) []seqGroup {
	type gk struct{ model, method, order string }
	sums := map[gk]*seqGroup{}
	for _, r := range runs {
		if r.Protocol != ProtocolSequence || len(r.R) == 0 {
			continue
		}
		tasks := r.Tasks
		if len(tasks) != r.NumTasks() {
			tasks = make([]string, r.NumTasks())
			for i := range tasks {
				tasks[i] = fmt.Sprintf("task %d", i+1)
			}
		}
		// The row count is part of the key: runs with and without the
		// next-day row are not averaged together.
		k := gk{r.Model, r.Method, strings.Join(tasks, "\x00") + fmt.Sprintf("\x00%d", len(r.R))}
		g := sums[k]
		if g == nil {
			g = &seqGroup{model: r.Model, method: r.Method, tasks: tasks, mean: make([][]float64, len(r.R))}
			for i := range g.mean {
				g.mean[i] = make([]float64, len(tasks))
			}
			sums[k] = g
		}
		for i, row := range r.R {
			for j, v := range row {
				g.mean[i][j] += v
			}
		}
		g.n++
		g.runs = append(g.runs, r)
	}
	keys := make([]gk, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.model != b.model {
			return a.model < b.model
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.order < b.order
	})
	var out []seqGroup
	for i, k := range keys {
		g := sums[k]
		for _, row := range g.mean {
			for j := range row {
				row[j] /= float64(g.n)
			}
		}
		// Number the orders of a model × method when it has several.
		first := i
		for first > 0 && keys[first-1].model == k.model && keys[first-1].method == k.method {
			first--
		}
		last := i
		for last+1 < len(keys) && keys[last+1].model == k.model && keys[last+1].method == k.method {
			last++
		}
		if last > first {
			g.suffix = fmt.Sprintf("-order%d", i-first+1)
		}
		out = append(out, *g)
	}
	return out
}

// rowLabels names the rows of R: before, after each task, next day.
func rowLabels(tasks []string, rows int) []string {
	labels := []string{"before"}
	for _, t := range tasks {
		labels = append(labels, "after "+t)
	}
	if rows > len(tasks)+1 {
		labels = append(labels, "next day")
	}
	return labels[:rows]
}

// stackLabels puts the first word of each label on its own line, so that
// "after scripture" takes the width of its task name on the x axis;
// "before" becomes "before training", two lines like the others.
func stackLabels(labels []string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		if l == "before" {
			l = "before training"
		}
		out[i] = strings.Replace(l, " ", "\n", 1)
	}
	return out
}

// series is one line of a plot: at each x, the mean over runs and its
// 95% interval, in the plot's units.
type series struct {
	label string
	x     []float64
	stats []Stat
	n     int // runs behind the line
}

// pointStats aggregates vals[k], the runs' values at point k, times
// scale (100 for accuracy fractions shown in %).
func pointStats(vals [][]float64, scale float64) []Stat {
	out := make([]Stat, len(vals))
	for k, vs := range vals {
		xs := make([]float64, len(vs))
		for i, v := range vs {
			xs[i] = scale * v
		}
		out[k] = Aggregate(xs)
	}
	return out
}

// taskSeries is one series per task of a sequence group: the matrix get
// returns (R or Loss) at each row, over the group's runs that have it.
// It returns nil when no run has the matrix.
func taskSeries(g seqGroup, get func(*Run) [][]float64, scale float64) []series {
	var ms [][][]float64
	for _, r := range g.runs {
		if m := get(r); len(m) == len(g.mean) {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return nil
	}
	out := make([]series, len(g.tasks))
	for j, t := range g.tasks {
		vals := make([][]float64, len(g.mean))
		x := make([]float64, len(g.mean))
		for i := range vals {
			x[i] = float64(i)
			for _, m := range ms {
				vals[i] = append(vals[i], m[i][j])
			}
		}
		out[j] = series{label: t, x: x, stats: pointStats(vals, scale), n: len(ms)}
	}
	return out
}

// lossForgettingCurve is one run's forgetting in held-out loss so far,
// per row i of L: the mean over tasks j < i (1-based, j ≤ T) of
// L[i][j] − min_{l ∈ [j, i−1]} L[l][j]. Rows 0 and 1 have no task
// trained before them and are NaN. At the last row it equals
// LossForgetting(L, true)'s mean.
func lossForgettingCurve(L [][]float64) []float64 {
	out := make([]float64, len(L))
	for i := range L {
		s, n := 0.0, 0
		for c := range L[i] { // task c+1
			if c+1 >= i {
				break
			}
			low := math.Inf(1)
			for l := c + 1; l < i; l++ {
				low = math.Min(low, L[l][c])
			}
			s += L[i][c] - low
			n++
		}
		out[i] = math.NaN()
		if n > 0 {
			out[i] = s / float64(n)
		}
	}
	return out
}

// lossGroup is the sequence runs of one model with the same number of
// rows, per method: the loss-forgetting curve over rows 2 … final.
type lossGroup struct {
	model, suffix string
	rows          int
	nextDay       bool
	methods       []string
	info          map[string]MethodInfo
	control       map[string]bool
	series        map[string]series
}

func lossForgettingGroups(runs []*Run) []*lossGroup {
	type gk struct {
		model string
		rows  int
	}
	curves := map[gk]map[string][][]float64{}
	groups := map[gk]*lossGroup{}
	for _, r := range runs {
		if r.Protocol != ProtocolSequence || len(r.Loss) < 3 || len(r.Loss) != len(r.R) {
			continue
		}
		k := gk{r.Model, len(r.Loss)}
		if groups[k] == nil {
			groups[k] = &lossGroup{model: r.Model, rows: k.rows, nextDay: r.NextDay,
				info: map[string]MethodInfo{}, control: map[string]bool{}, series: map[string]series{}}
			curves[k] = map[string][][]float64{}
		}
		g := groups[k]
		g.info[r.Method] = r.MethodInfo
		if c := r.MethodInfo.Control; c != "" {
			g.control[c] = true
		}
		curves[k][r.Method] = append(curves[k][r.Method], lossForgettingCurve(r.Loss)[2:])
	}
	perModel := map[string]int{}
	for k := range groups {
		perModel[k.model]++
	}
	out := make([]*lossGroup, 0, len(groups))
	for k, g := range groups {
		for m, cs := range curves[k] {
			vals := make([][]float64, len(cs[0]))
			x := make([]float64, len(cs[0]))
			for i := range vals {
				x[i] = float64(i)
				for _, c := range cs {
					vals[i] = append(vals[i], c[i])
				}
			}
			g.methods = append(g.methods, m)
			g.series[m] = series{x: x, stats: pointStats(vals, 1), n: len(cs)}
		}
		sortMethods(g.methods, g.info)
		if perModel[k.model] > 1 {
			g.suffix = fmt.Sprintf("-rows%d", k.rows)
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].model != out[j].model {
			return out[i].model < out[j].model
		}
		return out[i].rows < out[j].rows
	})
	return out
}

// dormGroup is the dormancy runs of one model: per method, accuracy (%)
// and loss on the base task over the days.
type dormGroup struct {
	model     string
	acc, loss []series
}

// dormancyGroups aggregates the day curves of the dormancy runs per model
// and method, on the days every run of the method scored.
func dormancyGroups(runs []*Run) []*dormGroup {
	byModel := map[string][]*Run{}
	for _, r := range runs {
		if r.Protocol == ProtocolDormancy && len(r.Days) > 0 {
			byModel[r.Model] = append(byModel[r.Model], r)
		}
	}
	var out []*dormGroup
	for model, rs := range byModel {
		info := map[string]MethodInfo{}
		control := map[string]bool{}
		byMethod := map[string][]*Run{}
		var methods []string
		for _, r := range rs {
			info[r.Method] = r.MethodInfo
			if c := r.MethodInfo.Control; c != "" {
				control[c] = true
			}
			if byMethod[r.Method] == nil {
				methods = append(methods, r.Method)
			}
			byMethod[r.Method] = append(byMethod[r.Method], r)
		}
		sortMethods(methods, info)
		g := &dormGroup{model: model}
		for _, m := range methods {
			if s, ok := daySeries(byMethod[m], func(r *Run) []float64 { return r.Days }, 100); ok {
				s.label = roleLabel(m, info[m], control[m], s.n)
				g.acc = append(g.acc, s)
			}
			if s, ok := daySeries(byMethod[m], func(r *Run) []float64 { return r.DaysLoss }, 1); ok {
				s.label = roleLabel(m, info[m], control[m], s.n)
				g.loss = append(g.loss, s)
			}
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].model < out[j].model })
	return out
}

// daySeries aggregates get(r) over the runs that have it, on the days
// all of them scored (runs of different lengths are cut to the common
// days). ok is false when no run has the curve.
func daySeries(runs []*Run, get func(*Run) []float64, scale float64) (s series, ok bool) {
	var common map[int]int // day → runs that scored it
	var have []*Run
	for _, r := range runs {
		if len(get(r)) == 0 {
			continue
		}
		have = append(have, r)
		days := map[int]bool{}
		for i := range get(r) {
			days[r.Day(i)] = true
		}
		if common == nil {
			common = map[int]int{}
		}
		for d := range days {
			common[d]++
		}
	}
	if len(have) == 0 {
		return series{}, false
	}
	var days []int
	for d, c := range common {
		if c == len(have) {
			days = append(days, d)
		}
	}
	sort.Ints(days)
	at := map[int]int{}
	for k, d := range days {
		at[d] = k
	}
	vals := make([][]float64, len(days))
	for _, r := range have {
		for i, v := range get(r) {
			if k, ok := at[r.Day(i)]; ok {
				vals[k] = append(vals[k], v)
			}
		}
	}
	x := make([]float64, len(days))
	for k, d := range days {
		x[k] = float64(d)
	}
	return series{x: x, stats: pointStats(vals, scale), n: len(have)}, len(days) > 0
}
