package results

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot/vg"
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
		if err := WriteAtomic(path, func(f *os.File) error {
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
