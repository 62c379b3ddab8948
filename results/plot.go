package results

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plots writes PNG plots of runs into dir (created if missing) and
// returns the files written, sorted:
//
//   - heatmap-MODEL-METHOD.png: the accuracy matrix R of the sequence
//     runs (mean over runs), one cell per row and task;
//   - forgetting-MODEL-METHOD.png: accuracy on each task across the rows
//     of R (before training, after each task, next day);
//   - retention-MODEL.png: dormancy accuracy on the base task over the
//     days, one line per method (no sleep, sleep, compute-matched, ...).
//
// When runs of one model × method used several task orders, each order
// gets its own files, suffixed -order1, -order2, ... in sorted order.
func Plots(dir string, runs []*Run) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating plot folder: %w", err)
	}
	var written []string
	save := func(p *plot.Plot, w, h vg.Length, name string) error {
		path := filepath.Join(dir, name)
		wt, err := p.WriterTo(w, h, "png")
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		if err := writeAtomic(path, func(f *os.File) error {
			_, err := f.Write(buf.Bytes())
			return err
		}); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}

	for _, g := range sequenceGroups(runs) {
		base := fileName(g.model) + "-" + fileName(g.method) + g.suffix
		title := fmt.Sprintf("%s / %s (mean of %d run", g.model, g.method, g.n)
		if g.n > 1 {
			title += "s"
		}
		title += ")"
		rows := rowLabels(g.tasks, len(g.mean))

		hp, err := heatmap(g.mean, g.tasks, rows, "Accuracy matrix R (%): "+title)
		if err != nil {
			return nil, fmt.Errorf("heatmap of %s/%s: %w", g.model, g.method, err)
		}
		w := vg.Length(2+1.1*float64(len(g.tasks))) * vg.Inch
		h := vg.Length(1.5+0.5*float64(len(g.mean))) * vg.Inch
		if err := save(hp, w, h, "heatmap-"+base+".png"); err != nil {
			return nil, err
		}

		fp, err := curves(g.mean, g.tasks, rows, "Accuracy per task over the sequence: "+title)
		if err != nil {
			return nil, fmt.Errorf("forgetting curves of %s/%s: %w", g.model, g.method, err)
		}
		if err := save(fp, 7*vg.Inch, 4.5*vg.Inch, "forgetting-"+base+".png"); err != nil {
			return nil, err
		}
	}

	for _, g := range dormancyGroups(runs) {
		rp, err := retentionPlot(g)
		if err != nil {
			return nil, fmt.Errorf("retention plot of %s: %w", g.model, err)
		}
		if err := save(rp, 7*vg.Inch, 4.5*vg.Inch, "retention-"+fileName(g.model)+".png"); err != nil {
			return nil, err
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

// seqGroup is the sequence runs of one model × method × task order, with
// their mean accuracy matrix.
type seqGroup struct {
	model, method, suffix string
	tasks                 []string
	mean                  [][]float64
	n                     int
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

// grid presents a matrix (rows of R, columns tasks) as a heat map grid,
// row 0 at the top.
type grid struct{ m [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.m[0]), len(g.m) }
func (g grid) Z(c, r int) float64 { return 100 * g.m[len(g.m)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

func heatmap(m [][]float64, tasks, rows []string, title string) (*plot.Plot, error) {
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(100)
	hm := plotter.NewHeatMap(grid{m}, cm.Palette(101))
	hm.Min, hm.Max = 0, 100
	p := plot.New()
	p.Title.Text = title
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

func curves(m [][]float64, tasks, rows []string, title string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "accuracy (%)"
	p.X.Label.Text = "stage"
	var lines []any
	for j, t := range tasks {
		xys := make(plotter.XYs, len(m))
		for i := range m {
			xys[i] = plotter.XY{X: float64(i), Y: 100 * m[i][j]}
		}
		lines = append(lines, t, xys)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	p.NominalX(rows...)
	percentAxis(p)
	return p, nil
}

// dormGroup is the dormancy runs of one model: per method, the mean
// accuracy per day.
type dormGroup struct {
	model   string
	methods []string
	days    map[string][]float64
	n       map[string]int
	info    map[string]MethodInfo
	control map[string]bool // methods that are another's compute-matched control
}

// dormancyGroups averages the day curves of the dormancy runs per model
// and method. Runs of one method with different numbers of days are cut
// to the shortest.
func dormancyGroups(runs []*Run) []*dormGroup {
	groups := map[string]*dormGroup{}
	curvesOf := map[[2]string][][]float64{}
	for _, r := range runs {
		if r.Protocol != ProtocolDormancy || len(r.Days) == 0 {
			continue
		}
		if groups[r.Model] == nil {
			groups[r.Model] = &dormGroup{model: r.Model, days: map[string][]float64{}, n: map[string]int{},
				info: map[string]MethodInfo{}, control: map[string]bool{}}
		}
		g := groups[r.Model]
		g.info[r.Method] = r.MethodInfo
		if c := r.MethodInfo.Control; c != "" {
			g.control[c] = true
		}
		k := [2]string{r.Model, r.Method}
		curvesOf[k] = append(curvesOf[k], r.Days)
	}
	for k, cs := range curvesOf {
		n := len(cs[0])
		for _, c := range cs {
			n = min(n, len(c))
		}
		mean := make([]float64, n)
		for _, c := range cs {
			for d := range n {
				mean[d] += c[d] / float64(len(cs))
			}
		}
		g := groups[k[0]]
		g.methods = append(g.methods, k[1])
		g.days[k[1]] = mean
		g.n[k[1]] = len(cs)
	}
	out := make([]*dormGroup, 0, len(groups))
	for _, g := range groups {
		sort.Slice(g.methods, func(i, j int) bool {
			a, b := g.methods[i], g.methods[j]
			if ra, rb := g.info[a].Rank, g.info[b].Rank; ra != rb {
				return ra < rb
			}
			return a < b
		})
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].model < out[j].model })
	return out
}

func retentionPlot(g *dormGroup) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Accuracy on the base task over the days: " + g.model
	p.X.Label.Text = "day"
	p.Y.Label.Text = "accuracy (%)"
	var lines []any
	for _, m := range g.methods {
		days := g.days[m]
		xys := make(plotter.XYs, len(days))
		for d, v := range days {
			xys[d] = plotter.XY{X: float64(d), Y: 100 * v}
		}
		label := fmt.Sprintf("%s (n=%d)", m, g.n[m])
		switch {
		case g.info[m].Role == RoleBaseline:
			label = "no sleep: " + label
		case g.info[m].Role == RoleSleep:
			label = "sleep: " + label
		case g.control[m]:
			label = "compute-matched: " + label
		}
		lines = append(lines, label, xys)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	percentAxis(p)
	return p, nil
}

// percentAxis sets the Y axis to 0..100% with headroom above for the
// legend, which sits at the top.
func percentAxis(p *plot.Plot) {
	p.Y.Min, p.Y.Max = 0, 100+15
	var ticks []plot.Tick
	for v := 0; v <= 100; v += 20 {
		ticks = append(ticks, plot.Tick{Value: float64(v), Label: fmt.Sprint(v)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Legend.Top = true
}
