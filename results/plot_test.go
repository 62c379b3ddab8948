package results

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// checkPNGs fails unless every file is a decodable PNG big enough to hold
// a plot.
func checkPNGs(t *testing.T, files []string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: not a PNG: %v", f, err)
			continue
		}
		if len(b) < 10_000 || cfg.Width < 300 || cfg.Height < 200 {
			t.Errorf("%s: %d bytes, %d×%d: too small to hold a plot", f, len(b), cfg.Width, cfg.Height)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: corrupt PNG: %v", f, err)
		}
	}
}

func baseNames(files []string) []string {
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	return names
}

func TestPlots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), PlotsDir)
	runs := fixtureRuns()
	// A second task order for custom/naive gets its own files.
	other := seqRun("custom", "naive", 1, threeTasks)
	other.Tasks = []string{"email", "speech", "scripture"}
	runs = append(runs, other)
	files, err := Plots(dir, runs)
	if err != nil {
		t.Fatal(err)
	}
	names := baseNames(files)
	for _, want := range []string{
		"heatmap-custom-ewc.png", "forgetting-custom-ewc.png", "heatmap-gpt2-mini-replay-matched.png",
		"heatmap-custom-naive-order1.png", "heatmap-custom-naive-order2.png", "forgetting-custom-naive-order2.png",
		"retention-custom.png", "retention-gpt2-mini.png",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s among %v", want, names)
		}
	}
	// The fixtures record no loss: 2 models × 4 methods × 2 kinds, +2
	// for the second order, + 2 retention; no loss plots.
	if len(files) != 20 {
		t.Errorf("%d files, want 20: %v", len(files), names)
	}
	checkPNGs(t, files)
}

// threeLoss mirrors threeTasks with a loss matrix (nats): each task's
// loss falls when it is trained and rises afterwards.
var threeLoss = [][]float64{
	{5.0, 5.0, 5.0}, // before
	{3.0, 5.0, 5.0}, // after task 1
	{3.5, 2.0, 5.0}, // after task 2
	{4.0, 2.5, 2.0}, // after task 3
	{4.2, 3.0, 2.6}, // next day
}

// seqRunLoss is seqRun with the loss matrix threeLoss raised by d.
func seqRunLoss(model, method string, seed uint64, d float64) *Run {
	r := seqRun(model, method, seed, threeTasks)
	r.Loss = make([][]float64, len(threeLoss))
	for i, row := range threeLoss {
		for _, v := range row {
			r.Loss[i] = append(r.Loss[i], v+d)
		}
	}
	return r
}

// dormRunDays is a dormancy run scored on the given days, with its
// accuracy and (when loss is not nil) loss on the base task.
func dormRunDays(model, method string, seed uint64, days []int, acc, loss []float64) *Run {
	return &Run{
		SchemaVersion: SchemaVersion, Profile: "quick", Protocol: ProtocolDormancy,
		Model: model, Method: method, MethodInfo: fixtureInfo[method], Seed: seed, Tasks: []string{"speech"},
		Days: acc, DaysLoss: loss, DayNumbers: days,
	}
}

func TestPlotsLossAndDays(t *testing.T) {
	days := []int{0, 3, 6, 9, 12}
	var runs []*Run
	for _, seed := range []uint64{1, 2, 3} {
		s := float64(seed)
		for mi, method := range []string{"naive", "aisp", "replay-matched"} {
			runs = append(runs, seqRunLoss("custom", method, seed, 0.1*s-0.3*float64(mi)))
			acc := []float64{0.30, 0.20 + 0.01*s, 0.15 + 0.02*float64(mi), 0.12 + 0.01*s, 0.10 + 0.03*float64(mi)}
			loss := []float64{4.0, 4.5 - 0.05*s, 4.8, 5.0 + 0.02*s, 5.1 - 0.1*float64(mi)}
			if method == "replay-matched" {
				loss = nil // an old record without days_loss
			}
			runs = append(runs, dormRunDays("custom", method, seed, days, acc, loss))
		}
	}
	for _, r := range runs {
		if err := r.Validate(); err != nil {
			t.Fatalf("fixture %s/%s: %v", r.Model, r.Method, err)
		}
	}
	files, err := Plots(filepath.Join(t.TempDir(), PlotsDir), runs)
	if err != nil {
		t.Fatal(err)
	}
	names := baseNames(files)
	want := []string{"loss-forgetting-custom.png", "retention-custom.png", "retention-loss-custom.png"}
	for _, m := range []string{"naive", "aisp", "replay-matched"} {
		want = append(want, "heatmap-custom-"+m+".png", "forgetting-custom-"+m+".png", "loss-custom-"+m+".png")
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	checkPNGs(t, files)
}

func TestPlotsNothing(t *testing.T) {
	files, err := Plots(t.TempDir(), nil)
	if err != nil || len(files) != 0 {
		t.Errorf("no runs: %v, %v", files, err)
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct {
		lo, hi, minStep, want float64
	}{
		{0, 30, 1, 5},        // step 1: 31 ticks, 2: 16, 5: 0,5,…,30 = 7
		{0, 5, 1, 1},         // 0…5: 6 ticks
		{0, 12, 1, 2},        // 1: 13 ticks; 2: 0,2,…,12 = 7
		{0, 2, 1, 1},         // a step below 1 is not allowed for days
		{0, 100, 0, 20},      // 10: 11 ticks; 20: 6
		{2.1, 6.6, 0, 1},     // 0.5: 2.5…6.5 = 9 ticks; 1: 3…6 = 4
		{0.95, 1.05, 0, .02}, // 0.01: 11 ticks; 0.02: 0.96…1.04 = 5
		{6.3, 9.1, 0, 0.5},   // 0.2: 6.4…9.0 = 14; 0.5: 6.5…9.0 = 6
	} {
		if got := niceStep(c.lo, c.hi, 8, c.minStep); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("niceStep(%v, %v, 8, %v) = %v, want %v", c.lo, c.hi, c.minStep, got, c.want)
		}
	}
}

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi, step float64
		want         []string
	}{
		{2.85, 6.15, 1, []string{"3", "4", "5", "6"}},
		{0.9, 1.1, 0.05, []string{"0.90", "0.95", "1.00", "1.05", "1.10"}},
		{-0.25, 0.5, 0.2, []string{"-0.2", "0.0", "0.2", "0.4"}},
		{0, 30, 5, []string{"0", "5", "10", "15", "20", "25", "30"}},
	} {
		var got []string
		for _, tk := range ticks(c.lo, c.hi, c.step) {
			got = append(got, tk.Label)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ticks(%v, %v, %v) = %v, want %v", c.lo, c.hi, c.step, got, c.want)
		}
	}
}

func TestPaddedRange(t *testing.T) {
	for _, c := range []struct {
		lo, hi, frac, wantLo, wantHi float64
	}{
		{3, 6, 0.05, 2.85, 6.15},   // span 3, pad 0.15
		{0.5, 1, 0.1, 0.45, 1.05},  // span 0.5, pad 0.05
		{0.02, 1, 0.1, 0, 1.098},   // 0.02 − 0.098 < 0: clamped at 0
		{-1, 1, 0.1, -1.2, 1.2},    // negative data may go below 0
		{5, 5, 0.05, 4.725, 5.275}, // flat: ±0.05·5 = 4.75…5.25, then pad 0.025
		{0, 0, 0.1, 0, 0.06},       // flat at 0: ±0.05, pad 0.01, clamped at 0
	} {
		lo, hi := paddedRange(c.lo, c.hi, c.frac)
		if !near(lo, c.wantLo) || !near(hi, c.wantHi) {
			t.Errorf("paddedRange(%v, %v, %v) = %v, %v; want %v, %v", c.lo, c.hi, c.frac, lo, hi, c.wantLo, c.wantHi)
		}
	}
}

func TestPointStats(t *testing.T) {
	st := pointStats([][]float64{{0.01, 0.03}, {0.05}, {}}, 100)
	// {1, 3}%: mean 2, s = √2, CI = t(0.975, 1) · √2/√2 = 12.7062.
	if st[0].N != 2 || !near(st[0].Mean, 2) || math.Abs(st[0].CI-12.7062) > 1e-4 {
		t.Errorf("two runs: %+v, want mean 2 ± 12.7062", st[0])
	}
	if st[1].N != 1 || !near(st[1].Mean, 5) || !math.IsNaN(st[1].CI) {
		t.Errorf("one run: %+v, want mean 5, no interval", st[1])
	}
	if st[2].Defined() {
		t.Errorf("no run: %+v, want undefined", st[2])
	}
}

func TestBandSegments(t *testing.T) {
	nan := math.NaN()
	s := series{
		x: []float64{0, 1, 2, 3, 4, 5},
		stats: []Stat{
			{Mean: 1, CI: 0.5, N: 2}, {Mean: 2, CI: 0.5, N: 2}, // a band from x 0 to 1
			{Mean: 3, CI: nan, N: 1}, // one run: no band
			{Mean: 4, CI: 1, N: 3},   // a lone point: no polygon
			{Mean: 5, CI: nan, N: 1},
			{Mean: 6, CI: 0.25, N: 2}, // a lone point at the end
		},
	}
	inf := math.Inf(1)
	got := bandSegments(s, -inf, inf)
	want := []plotter.XYs{{{X: 0, Y: 1.5}, {X: 1, Y: 2.5}, {X: 1, Y: 1.5}, {X: 0, Y: 0.5}}}
	if len(got) != len(want) || !slices.Equal(got[0], want[0]) {
		t.Errorf("bandSegments = %v, want %v", got, want)
	}
	s.stats[4] = Stat{Mean: 5, CI: 2, N: 2}
	got = bandSegments(s, -inf, inf)
	// Points 3, 4, 5 now form one band: upper 5, 7, 6.25; lower back 5.75, 3, 3.
	want = append(want, plotter.XYs{{X: 3, Y: 5}, {X: 4, Y: 7}, {X: 5, Y: 6.25}, {X: 5, Y: 5.75}, {X: 4, Y: 3}, {X: 3, Y: 3}})
	if len(got) != 2 || !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Errorf("bandSegments = %v, want %v", got, want)
	}
	// Clipped to [0.8, 6.5]: 1 − 0.5 = 0.5 → 0.8, 7 → 6.5.
	got = bandSegments(s, 0.8, 6.5)
	want[0][3].Y = 0.8
	want[1][1].Y = 6.5
	if len(got) != 2 || !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Errorf("clipped bandSegments = %v, want %v", got, want)
	}
}

func TestDataRange(t *testing.T) {
	ss := []series{
		{stats: []Stat{{Mean: 3, CI: 1, N: 2}, {Mean: 5, CI: math.NaN(), N: 1}}},
		{stats: []Stat{None(), {Mean: 6, CI: 0.5, N: 3}}},
	}
	inf := math.Inf(1)
	// Lowest: 3 − 1 = 2; highest: 6 + 0.5 = 6.5. The undefined point is ignored.
	if lo, hi, ok := dataRange(ss, -inf, inf); !ok || lo != 2 || hi != 6.5 {
		t.Errorf("dataRange = %v, %v, %v; want 2, 6.5, true", lo, hi, ok)
	}
	// Interval ends clipped to [2.5, 6.2]; the means 3 and 6 stay inside.
	if lo, hi, ok := dataRange(ss, 2.5, 6.2); !ok || lo != 2.5 || hi != 6.2 {
		t.Errorf("clipped dataRange = %v, %v, %v; want 2.5, 6.2, true", lo, hi, ok)
	}
	if _, _, ok := dataRange([]series{{stats: []Stat{None()}}}, -inf, inf); ok {
		t.Error("dataRange of undefined points: ok")
	}
}

func TestLossForgettingCurve(t *testing.T) {
	got := lossForgettingCurve(threeLoss)
	// Row 2: task 1, 3.5 − 3.0 = 0.5.
	// Row 3: task 1, 4.0 − min(3.0, 3.5) = 1.0; task 2, 2.5 − 2.0 = 0.5; mean 0.75.
	// Row 4: 4.2 − 3.0 = 1.2; 3.0 − 2.0 = 1.0; 2.6 − 2.0 = 0.6; mean 2.8/3.
	want := []float64{math.NaN(), math.NaN(), 0.5, 0.75, 2.8 / 3}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || !math.IsNaN(want[i]) && !near(got[i], want[i]) {
			t.Errorf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
	// The last row is the table's average forgetting in nats.
	_, avg, err := LossForgetting(threeLoss, true)
	if err != nil || !near(got[len(got)-1], avg) {
		t.Errorf("last row %v, LossForgetting %v (%v)", got[len(got)-1], avg, err)
	}
	// A task whose loss falls after its training counts negative: row 2
	// of {5,5}/{3,5}/{2.5,2} is 2.5 − 3.0 = −0.5.
	if got := lossForgettingCurve([][]float64{{5, 5}, {3, 5}, {2.5, 2}}); !near(got[2], -0.5) {
		t.Errorf("improvement: %v, want -0.5 at row 2", got)
	}
}

func TestDaySeries(t *testing.T) {
	get := func(r *Run) []float64 { return r.DaysLoss }
	runs := []*Run{
		dormRunDays("custom", "naive", 1, []int{0, 3, 6}, []float64{.3, .2, .1}, []float64{4, 5, 6}),
		dormRunDays("custom", "naive", 2, []int{0, 3, 6, 9}, []float64{.3, .2, .1, .1}, []float64{2, 3, 4, 9}),
		dormRunDays("custom", "naive", 3, []int{0, 3, 6}, []float64{.3, .2, .1}, nil), // no loss
	}
	s, ok := daySeries(runs, get, 1)
	// Two runs have loss; day 9 is scored by one only and dropped.
	// Means: (4+2)/2 = 3, (5+3)/2 = 4, (6+4)/2 = 5.
	if !ok || s.n != 2 || !slices.Equal(s.x, []float64{0, 3, 6}) {
		t.Fatalf("daySeries = %+v, %v; want days 0, 3, 6 of 2 runs", s, ok)
	}
	for k, want := range []float64{3, 4, 5} {
		if s.stats[k].N != 2 || !near(s.stats[k].Mean, want) {
			t.Errorf("day %v: %+v, want mean %v of 2", s.x[k], s.stats[k], want)
		}
	}
	// Without DayNumbers the days are 0, 1, 2, … (Run.Day).
	acc, ok := daySeries(runs[:1:1], func(r *Run) []float64 { return r.Days }, 100)
	if !ok || !slices.Equal(acc.x, []float64{0, 3, 6}) || !near(acc.stats[0].Mean, 30) {
		t.Errorf("accuracy in %%: %+v", acc)
	}
	plain := &Run{Days: []float64{.5, .4}}
	if s, ok := daySeries([]*Run{plain}, func(r *Run) []float64 { return r.Days }, 1); !ok || !slices.Equal(s.x, []float64{0, 1}) {
		t.Errorf("no day numbers: %+v", s)
	}
	if _, ok := daySeries(runs[2:], get, 1); ok {
		t.Error("no run with loss: ok")
	}
}

func TestRoleLabel(t *testing.T) {
	for _, c := range []struct {
		method  string
		control bool
		want    string
	}{
		{"naive", false, "no sleep: naive (n=3)"},
		{"aisp", false, "sleep: aisp (n=3)"},
		{"replay-matched", true, "compute-matched: replay-matched (n=3)"},
		{"ewc", false, "ewc (n=3)"},
	} {
		if got := roleLabel(c.method, fixtureInfo[c.method], c.control, 3); got != c.want {
			t.Errorf("roleLabel(%s) = %q, want %q", c.method, got, c.want)
		}
	}
}
