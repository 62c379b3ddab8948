package results

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plots writes PNG plots of runs into dir (created if missing) and
// returns the files written, sorted. Every line is the mean over the
// runs (seeds, and task orders where the plot mixes them) with its 95%
// Student-t interval (Aggregate) drawn as a translucent band; a point
// measured by a single run has no band. Axes are scaled to the data
// (lines and bands, with 7% padding), never to a fixed 0–100; bands are
// clipped to the values a quantity can take (accuracy 0–100%, loss ≥ 0).
//
// Sequence protocol, per model × method:
//
//   - heatmap-MODEL-METHOD.png: the accuracy matrix R (%, mean over
//     runs), one cell per row and task, its colours spanning the
//     matrix's own range (stated in the title);
//   - forgetting-MODEL-METHOD.png: accuracy (%) on each task across the
//     rows of R (before training, after each task, next day);
//   - loss-MODEL-METHOD.png: held-out loss (nats per token) of each task
//     across the same rows (runs that recorded Loss).
//
// When runs of one model × method used several task orders, each order
// gets its own files of these three kinds, suffixed -order1, -order2, …
// in sorted order.
//
// Sequence protocol, per model, comparing methods:
//
//   - loss-forgetting-MODEL.png: forgetting in held-out loss so far, one
//     line per method, over rows 2 … final of the loss matrix (x "after
//     task 2" … "next day", task positions in training order, so runs of
//     several orders are pooled). At row i it is the mean over the tasks
//     j < i (trained before row i) of L[i][j] − min_{l ∈ [j, i−1]} L[l][j],
//     the rise of each task's loss above the lowest it reached once
//     learned; at the last row this is exactly the table's average
//     forgetting in nats (LossForgetting with last = true). This plot
//     rather than task 1's loss was chosen because it is the quantity the
//     tables and the paper's forgetting claims rest on, and it shows
//     every task's forgetting, not one domain's. 0 is always on the axis
//     (a grey line): above it is forgetting. Models whose runs differ in
//     the number of rows get one file per row count, suffixed -rowsN.
//
// Dormancy protocol, per model, one line per method:
//
//   - retention-MODEL.png: accuracy (%) on the base task over the days;
//   - retention-loss-MODEL.png: loss (nats per token) on the base task
//     over the days, when some run recorded DaysLoss.
//
// The x axis holds the actual days scored (DayNumbers) with integer
// ticks. Legend entries say the part a method plays (no sleep, sleep,
// compute-matched) from its MethodInfo, and the number of runs.
func Plots(dir string, runs []*Run) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating plot folder: %w", err)
	}
	var written []string
	seen := map[string]bool{}
	save := func(f figure, name string) error {
		path := filepath.Join(dir, name)
		if seen[name] {
			// Two groups whose names join to the same file name.
			return fmt.Errorf("plot %s: two plots would share this file name", path)
		}
		seen[name] = true
		b, err := f.png()
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		if err := writeAtomic(path, func(f *os.File) error {
			_, err := f.Write(b)
			return err
		}); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}

	for _, g := range sequenceGroups(runs) {
		base := fileName(g.model) + "-" + fileName(g.method) + g.suffix
		title := fmt.Sprintf("%s / %s (%s)", g.model, g.method, meanOf(g.n))
		rows := rowLabels(g.tasks, len(g.mean))

		hp, err := heatmap(g.mean, g.tasks, rows, "Accuracy matrix R (%): "+title)
		if err != nil {
			return nil, fmt.Errorf("heatmap of %s/%s: %w", g.model, g.method, err)
		}
		w := vg.Length(2+1.1*float64(len(g.tasks))) * vg.Inch
		h := vg.Length(1.5+0.5*float64(len(g.mean))) * vg.Inch
		if err := save(figure{p: hp, w: w, h: h}, "heatmap-"+base+".png"); err != nil {
			return nil, err
		}

		acc := taskSeries(g, func(r *Run) [][]float64 { return r.R }, 100)
		fp, err := linePlot(lineSpec{
			title: "Accuracy per task over the sequence: " + title, yLabel: "accuracy (%)",
			xLabel: "stage", xNames: stackLabels(rows), series: acc, bounds: accBounds,
		})
		if err != nil {
			return nil, fmt.Errorf("forgetting curves of %s/%s: %w", g.model, g.method, err)
		}
		if err := save(fp, "forgetting-"+base+".png"); err != nil {
			return nil, err
		}

		loss := taskSeries(g, func(r *Run) [][]float64 { return r.Loss }, 1)
		if len(loss) == 0 {
			continue
		}
		lp, err := linePlot(lineSpec{
			title:  fmt.Sprintf("Held-out loss per task over the sequence: %s / %s (%s)", g.model, g.method, meanOf(loss[0].n)),
			yLabel: "loss (nats per token)", xLabel: "stage", xNames: stackLabels(rows), series: loss,
			bounds: lossBounds,
		})
		if err != nil {
			return nil, fmt.Errorf("loss curves of %s/%s: %w", g.model, g.method, err)
		}
		if err := save(lp, "loss-"+base+".png"); err != nil {
			return nil, err
		}
	}

	for _, g := range lossForgettingGroups(runs) {
		var ss []series
		for _, m := range g.methods {
			s := g.series[m]
			s.label = roleLabel(m, g.info[m], g.control[m], s.n)
			ss = append(ss, s)
		}
		names := []string{}
		for i := 2; i < g.rows; i++ {
			names = append(names, fmt.Sprintf("after\ntask %d", i))
		}
		if g.nextDay {
			names[len(names)-1] = "next\nday"
		}
		p, err := linePlot(lineSpec{
			title:  "Forgetting in held-out loss so far (mean over tasks trained earlier): " + g.model,
			yLabel: "loss rise above each task's best (nats per token)", xLabel: "stage",
			xNames: names, series: ss, zero: true, bounds: noBounds,
		})
		if err != nil {
			return nil, fmt.Errorf("loss forgetting of %s: %w", g.model, err)
		}
		if err := save(p, "loss-forgetting-"+fileName(g.model)+g.suffix+".png"); err != nil {
			return nil, err
		}
	}

	for _, g := range dormancyGroups(runs) {
		for _, kind := range []struct {
			ss     []series
			what   string
			yLabel string
			file   string
			bounds [2]float64
		}{
			{g.acc, "Accuracy", "accuracy (%)", "retention-", accBounds},
			{g.loss, "Held-out loss", "loss (nats per token)", "retention-loss-", lossBounds},
		} {
			if len(kind.ss) == 0 {
				continue
			}
			p, err := linePlot(lineSpec{
				title:  kind.what + " on the base task over the days: " + g.model,
				yLabel: kind.yLabel, xLabel: "day", series: kind.ss, bounds: kind.bounds,
			})
			if err != nil {
				return nil, fmt.Errorf("retention plot of %s: %w", g.model, err)
			}
			if err := save(p, kind.file+fileName(g.model)+".png"); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(written)
	return written, nil
}

// fileName keeps letters, digits, '.', '-' and '_' and replaces the rest.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// meanOf says how many runs a line averages.
func meanOf(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("mean of %d runs", n)
}

// roleLabel is a method's legend entry: the part it plays, its name and
// the number of runs behind the line.
func roleLabel(method string, info MethodInfo, isControl bool, n int) string {
	label := fmt.Sprintf("%s (n=%d)", method, n)
	switch {
	case info.Role == RoleBaseline:
		label = "no sleep: " + label
	case info.Role == RoleSleep:
		label = "sleep: " + label
	case isControl:
		label = "compute-matched: " + label
	}
	return label
}

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

// sortMethods orders methods by rank, then name.
func sortMethods(methods []string, info map[string]MethodInfo) {
	sort.Slice(methods, func(i, j int) bool {
		a, b := methods[i], methods[j]
		if ra, rb := info[a].Rank, info[b].Rank; ra != rb {
			return ra < rb
		}
		return a < b
	})
}

// grid presents a matrix (rows of R, columns tasks) as a heat map grid,
// row 0 at the top.
type grid struct{ m [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.m[0]), len(g.m) }
func (g grid) Z(c, r int) float64 { return 100 * g.m[len(g.m)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// heatmap draws m (fractions) in %, its colours spanning m's own range
// so that a matrix of 3–6% is not one colour.
func heatmap(m [][]float64, tasks, rows []string, title string) (*plot.Plot, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range m {
		for _, v := range row {
			lo, hi = math.Min(lo, 100*v), math.Max(hi, 100*v)
		}
	}
	if !(hi > lo) {
		lo, hi = lo-0.5, hi+0.5
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(lo)
	cm.SetMax(hi)
	hm := plotter.NewHeatMap(grid{m}, cm.Palette(101))
	hm.Min, hm.Max = lo, hi
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s\ncolours from blue %.1f%% to red %.1f%%", title, lo, hi)
	p.Add(hm)

	var xys plotter.XYs
	var labels []string
	for i, row := range m {
		for j, v := range row {
			xys = append(xys, plotter.XY{X: float64(j), Y: float64(len(m) - 1 - i)})
			labels = append(labels, fmt.Sprintf("%.1f", 100*v))
		}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign = -0.5
		lab.TextStyle[i].YAlign = -0.5
		lab.TextStyle[i].Color = color.Black
	}
	p.Add(lab)

	p.NominalX(tasks...)
	rev := make([]string, len(rows))
	for i, r := range rows {
		rev[len(rows)-1-i] = r
	}
	p.NominalY(rev...)
	p.X.Label.Text = "task evaluated"
	p.Y.Label.Text = "after"
	return p, nil
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

// lineSpec describes a line plot: nominal x labels (at 0, 1, …) when
// xNames is set, else integer ticks from the series' x.
type lineSpec struct {
	title, xLabel, yLabel string
	xNames                []string
	series                []series
	zero                  bool // keep 0 on the y axis and mark it
	// bounds are the values the quantity can take; bands are clipped to
	// them, as a Student-t interval of a few runs can reach past them
	// (accuracy below 0%).
	bounds [2]float64
}

// Bounds of the quantities plotted.
var (
	accBounds  = [2]float64{0, 100}
	lossBounds = [2]float64{0, math.Inf(1)}
	noBounds   = [2]float64{math.Inf(-1), math.Inf(1)}
)

// figure is a plot with its legend drawn to the right of it.
type figure struct {
	p      *plot.Plot
	legend *plot.Legend
	w, h   vg.Length // of the plot; the legend widens the image
}

// bandSegments returns the interval around a series as polygons, one per
// run of consecutive points that have an interval (N ≥ 2): the upper
// edge left to right, then the lower edge back, each end clipped to
// [floor, ceil], the values the quantity can take.
func bandSegments(s series, floor, ceil float64) []plotter.XYs {
	var out []plotter.XYs
	var seg []int
	flush := func() {
		if len(seg) >= 2 {
			poly := make(plotter.XYs, 0, 2*len(seg))
			for _, k := range seg {
				poly = append(poly, plotter.XY{X: s.x[k], Y: math.Min(s.stats[k].Mean+s.stats[k].CI, ceil)})
			}
			for i := len(seg) - 1; i >= 0; i-- {
				k := seg[i]
				poly = append(poly, plotter.XY{X: s.x[k], Y: math.Max(s.stats[k].Mean-s.stats[k].CI, floor)})
			}
			out = append(out, poly)
		}
		seg = seg[:0]
	}
	for k, st := range s.stats {
		if st.N >= 2 && !math.IsNaN(st.CI) && !math.IsInf(st.CI, 0) {
			seg = append(seg, k)
			continue
		}
		flush()
	}
	flush()
	return out
}

// dataRange is the smallest and largest of the series' means and
// interval ends, the ends clipped to [floor, ceil] as the bands are; ok
// is false when no point has a mean.
func dataRange(ss []series, floor, ceil float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, st := range s.stats {
			if !st.Defined() {
				continue
			}
			lo, hi = math.Min(lo, st.Mean), math.Max(hi, st.Mean)
			if st.N >= 2 && !math.IsNaN(st.CI) {
				lo = math.Min(lo, math.Max(st.Mean-st.CI, floor))
				hi = math.Max(hi, math.Min(st.Mean+st.CI, ceil))
			}
		}
	}
	return lo, hi, hi >= lo
}

// paddedRange widens [lo, hi] by frac of its span on each side, without
// crossing below 0 when the data are not negative. A flat range (hi =
// lo) is first widened to 10% of max(|lo|, 1), centred.
func paddedRange(lo, hi, frac float64) (float64, float64) {
	nonNegative := lo >= 0
	if !(hi > lo) {
		half := 0.05 * math.Max(math.Abs(lo), 1)
		lo, hi = lo-half, hi+half
	}
	pad := frac * (hi - lo)
	min, max := lo-pad, hi+pad
	if nonNegative && min < 0 {
		min = 0
	}
	return min, max
}

// niceStep is the smallest step of the form {1, 2, 5} × 10^k, at least
// minStep, that puts at most maxTicks ticks (multiples of the step) in
// [lo, hi].
func niceStep(lo, hi float64, maxTicks int, minStep float64) float64 {
	if !(hi > lo) || maxTicks < 1 {
		return math.Max(minStep, 1)
	}
	k := math.Floor(math.Log10((hi - lo) / float64(maxTicks)))
	for ; ; k++ {
		for _, m := range []float64{1, 2, 5} {
			s := m * math.Pow(10, k)
			if s < minStep {
				continue
			}
			if tickCount(lo, hi, s) <= maxTicks {
				return s
			}
		}
	}
}

// tickCount counts the multiples of step in [lo, hi], allowing for
// rounding at the ends.
func tickCount(lo, hi, step float64) int {
	return int(math.Floor(hi/step+1e-9)-math.Ceil(lo/step-1e-9)) + 1
}

// ticks labels the multiples of step in [lo, hi] with as many decimals
// as the step needs.
func ticks(lo, hi, step float64) []plot.Tick {
	dec := max(0, int(math.Ceil(-math.Log10(step)-1e-9)))
	first := math.Ceil(lo/step - 1e-9)
	var out []plot.Tick
	for i := range tickCount(lo, hi, step) {
		v := (first + float64(i)) * step
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0.0"
		}
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', dec, 64)})
	}
	return out
}

// linePlot draws each series as a line with points over its interval
// band, with both axes scaled to the data.
func linePlot(spec lineSpec) (figure, error) {
	p := plot.New()
	p.Title.Text = spec.title
	p.X.Label.Text = spec.xLabel
	p.Y.Label.Text = spec.yLabel
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.Padding = vg.Points(3)

	gridLines := plotter.NewGrid()
	gridLines.Vertical.Color = nil
	gridLines.Horizontal.Color = color.Gray{Y: 225}
	p.Add(gridLines)

	// Bands first, so every line is drawn over every band.
	bands := make([]bool, len(spec.series))
	for i, s := range spec.series {
		for _, seg := range bandSegments(s, spec.bounds[0], spec.bounds[1]) {
			poly, err := plotter.NewPolygon(seg)
			if err != nil {
				return figure{}, err
			}
			poly.Color = translucent(plotutil.Color(i), 0x38)
			poly.LineStyle.Width = 0
			p.Add(poly)
			bands[i] = true
		}
	}
	for i, s := range spec.series {
		var xys plotter.XYs
		for k, st := range s.stats {
			if st.Defined() {
				xys = append(xys, plotter.XY{X: s.x[k], Y: st.Mean})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return figure{}, err
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		points.Color = plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		thumbs := []plot.Thumbnailer{line, points}
		if bands[i] {
			sw := &plotter.Polygon{Color: translucent(plotutil.Color(i), 0x38)}
			thumbs = append([]plot.Thumbnailer{sw}, thumbs...)
		}
		leg.Add(s.label, thumbs...)
	}

	// X: nominal stages, or integer days.
	if spec.xNames != nil {
		p.NominalX(spec.xNames...)
		p.X.Min, p.X.Max = -0.3, float64(len(spec.xNames))-0.7
	} else {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range spec.series {
			for _, x := range s.x {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
		if hi >= lo {
			step := niceStep(lo, hi, 8, 1)
			p.X.Tick.Marker = plot.ConstantTicks(ticks(lo, hi, step))
			pad := math.Max(0.03*(hi-lo), 0.3)
			p.X.Min, p.X.Max = lo-pad, hi+pad
		}
	}

	// Y: the data with 7% padding, 0 included when asked.
	lo, hi, ok := dataRange(spec.series, spec.bounds[0], spec.bounds[1])
	if !ok {
		lo, hi = 0, 1
	}
	if spec.zero {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
		zl, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 0}, {X: p.X.Max, Y: 0}})
		if err != nil {
			return figure{}, err
		}
		zl.Color = color.Gray{Y: 110}
		zl.Width = vg.Points(1)
		p.Add(zl)
	}
	p.Y.Min, p.Y.Max = paddedRange(lo, hi, 0.07)
	p.Y.Tick.Marker = plot.ConstantTicks(ticks(p.Y.Min, p.Y.Max, niceStep(p.Y.Min, p.Y.Max, 8, 0)))
	return figure{p: p, legend: &leg, w: 7 * vg.Inch, h: 4.5 * vg.Inch}, nil
}

// translucent returns c with alpha a, for bands.
func translucent(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// png renders the figure: the plot on the left, its legend (if any) in a
// column to the right of it, level with the top of the plot area, so
// that it never hides a line.
func (f figure) png() ([]byte, error) {
	var legW vg.Length
	if f.legend != nil {
		probe := draw.New(vgimg.New(f.w, f.h))
		r := f.legend.Rectangle(probe)
		if r.Max.X > r.Min.X {
			legW = r.Max.X - r.Min.X + 0.25*vg.Inch
		}
	}
	img := vgimg.New(f.w+legW, f.h)
	dc := draw.New(img)
	f.p.Draw(draw.Crop(dc, 0, -legW, 0, 0))
	if legW > 0 {
		lc := draw.Crop(dc, f.w, 0, 0, 0)
		if f.p.Title.Text != "" {
			f.legend.YOffs = -(f.p.Title.TextStyle.Height(f.p.Title.Text) + f.p.Title.Padding + 0.1*vg.Inch)
		}
		f.legend.Draw(lc)
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
