package results

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSummariseByHand(t *testing.T) {
	naive1 := seqRun("custom", "naive", 1, threeTasks)
	naive1.Compression = map[string][]float64{
		TransformNone:    {0.6, 0.7, 0.8},    // mean 70
		TransformPrune30: {0.55, 0.65, 0.75}, // mean 65, drop 5
		TransformINT4:    {0.5, 0.6, 0.7},    // mean 60, drop 10
	}
	naive2 := seqRun("custom", "naive", 2, threeTasks[:4]) // no next-day row
	runs := []*Run{
		naive1, naive2,
		dormRun("custom", "naive", 1, 0.8, 0.6),           // retention 75
		dormRun("custom", "aisp", 1, 0.8, 0.72),           // retention 90
		dormRun("custom", "aisp", 2, 0.8, 0.72),           // no naive seed 2 to pair with
		dormRun("custom", "replay-matched", 1, 0.8, 0.64), // retention 80
	}
	s := Summarise(runs)
	if s.Profile != "quick" || !slices.Equal(s.Seeds, []uint64{1, 2}) {
		t.Errorf("profile %q seeds %v", s.Profile, s.Seeds)
	}
	if len(s.Tasks) != 2 || len(s.Tasks[ProtocolDormancy]) != 1 || !slices.Equal(s.Tasks[ProtocolDormancy][0], []string{"speech"}) ||
		len(s.Tasks[ProtocolSequence]) != 1 || !slices.Equal(s.Tasks[ProtocolSequence][0], fixtureTasks) {
		t.Errorf("tasks %v", s.Tasks)
	}
	var names []string
	for _, e := range s.Entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"custom/naive", "custom/aisp", "custom/replay-matched"}) {
		t.Errorf("entries %v", names)
	}

	check := func(what string, got Stat, mean, ci float64, n, undef int) {
		t.Helper()
		okCI := math.IsNaN(ci) && math.IsNaN(got.CI) || math.Abs(got.CI-ci) < 1e-6
		if math.Abs(got.Mean-mean) > 1e-6 || !okCI || got.N != n || got.Undefined != undef {
			t.Errorf("%s = %+v; want mean %v ci %v n %d undefined %d", what, got, mean, ci, n, undef)
		}
	}
	n := s.Find("custom", "naive")
	// Both seeds have the same rows 0..T: ACC 68.333…, F 25, BWT −25,
	// FWT 7.5 points, interval 0.
	check("ACC", n.ACC, 205.0/3, 0, 2, 0)
	check("F", n.F, 25, 0, 2, 0)
	check("BWT", n.BWT, -25, 0, 2, 0)
	check("FWT", n.FWT, 7.5, 0, 2, 0)
	// Task 1: 57.142857 (next day) and 42.857143 (row T): mean 50,
	// CI = t(0.975,1) · |a − b| / 2 = 12.7062047 · 14.285714 / 2 = 90.7586.
	check("RelFirst", n.RelFirst, 50, 12.70620474*(0.4/0.7-0.3/0.7)*100/2, 2, 0)
	// Last task: 54.545454 for seed 1, undefined for seed 2.
	check("RelLast", n.RelLast, 0.30/0.55*100, math.NaN(), 1, 1)
	// Averages: seed 1 (0.4/0.7 + 0.3/0.7 + 0.30/0.55)/3 × 100 = 51.515152,
	// seed 2 (0.3/0.7 + 0.2/0.7)/2 × 100 = 35.714286.
	a, b := (0.4/0.7+0.3/0.7+0.30/0.55)/3*100, (0.3/0.7+0.2/0.7)/2*100
	check("RelAvg", n.RelAvg, (a+b)/2, 12.70620474*math.Abs(a-b)/2, 2, 0)
	if n.RelExcluded != 1 {
		t.Errorf("RelExcluded = %d, want 1", n.RelExcluded)
	}
	check("naive retention", n.Retention, 75, math.NaN(), 1, 0)
	check("naive improvement", n.Improvement, math.NaN(), math.NaN(), 0, 0)
	check("CompBefore", n.CompBefore, 70, math.NaN(), 1, 0)
	check("CompPrune30", n.CompPrune30, 65, math.NaN(), 1, 0)
	check("CompINT4", n.CompINT4, 60, math.NaN(), 1, 0)
	check("DropPrune30", n.DropPrune30, 5, math.NaN(), 1, 0)
	check("DropINT4", n.DropINT4, 10, math.NaN(), 1, 0)
	if n.Runs != 3 {
		t.Errorf("naive runs = %d, want 3", n.Runs)
	}

	ai := s.Find("custom", "aisp")
	check("aisp retention", ai.Retention, 90, 0, 2, 0)
	// (90 − 75) / 75 × 100 = 20, seed 1 only (no naive seed 2).
	check("aisp improvement", ai.Improvement, 20, math.NaN(), 1, 0)
	// (90 − 80) / 80 × 100 = 12.5
	check("aisp vs matched", ai.VsMatched, 12.5, math.NaN(), 1, 0)
	check("aisp ACC", ai.ACC, math.NaN(), math.NaN(), 0, 0)
	m := s.Find("custom", "replay-matched")
	// (80 − 75) / 75 × 100 = 6.666…
	check("matched improvement", m.Improvement, 100.0/15, math.NaN(), 1, 0)
	check("matched vs matched", m.VsMatched, math.NaN(), math.NaN(), 0, 0)

	if s.Find("custom", "ewc") != nil {
		t.Error("Find returned an entry that has no runs")
	}
}

func TestSummariseMixedProfiles(t *testing.T) {
	a := seqRun("custom", "naive", 1, threeTasks)
	b := seqRun("custom", "naive", 2, threeTasks)
	b.Profile = "default"
	if s := Summarise([]*Run{a, b}); s.Profile != "default,quick" {
		t.Errorf("profile %q, want \"default,quick\"", s.Profile)
	}
}

func TestEntryOrder(t *testing.T) {
	var runs []*Run
	for _, model := range []string{"mlp", "custom", "gpt2-mini", "bert-mini"} {
		for _, method := range []string{"joint", "replay-matched", "aisp-noshn", "aisp", "replay", "ewc", "naive", "si"} {
			runs = append(runs, seqRun(model, method, 1, threeTasks))
		}
	}
	s := Summarise(runs)
	var got []string
	for _, e := range s.Entries[:8] {
		got = append(got, e.Name())
	}
	want := []string{"bert-mini/naive", "bert-mini/ewc", "bert-mini/replay", "bert-mini/aisp", "bert-mini/aisp-noshn",
		"bert-mini/replay-matched", "bert-mini/joint", "bert-mini/si"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v\nwant %v", got, want)
	}
	if !slices.Equal(s.Models(), []string{"bert-mini", "gpt2-mini", "custom", "mlp"}) {
		t.Errorf("models %v", s.Models())
	}
}

// Runs scored on the validation split say so in the summary and above
// the tables.
func TestSummaryValidationSplit(t *testing.T) {
	r := seqRun("custom", "naive", 1, threeTasks)
	r.Config = map[string]string{"eval_split": "validation"}
	s := Summarise([]*Run{r, seqRun("custom", "naive", 2, threeTasks)})
	if s.Split != "validation" {
		t.Errorf("split %q, want validation", s.Split)
	}
	var b strings.Builder
	if err := Render(&b, s, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "Scored on the validation split") {
		t.Errorf("tables do not start with the split warning:\n%.200s", b.String())
	}
}

// Learned is R[j][j] − R[0][j] per task, in points: for threeTasks
// 0.80 − 0.10 = 70, 0.90 − 0.20 = 70, 0.85 − 0.30 = 55; table 3b shows it
// for the baseline.
func TestLearnedByHand(t *testing.T) {
	s := Summarise([]*Run{seqRun("custom", "naive", 1, threeTasks), seqRun("custom", "naive", 2, threeTasks)})
	e := s.Find("custom", "naive")
	want := []float64{70, 70, 55}
	if len(e.Learned) != 3 {
		t.Fatalf("learned %+v", e.Learned)
	}
	for j, w := range want {
		if got := e.Learned[j]; math.Abs(got.Mean-w) > 1e-9 || got.N != 2 || got.CI != 0 {
			t.Errorf("task %d: %+v, want %v ± 0 (n=2)", j+1, got, w)
		}
	}
	var b strings.Builder
	if err := LearnedTable(&b, s, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(squash(b.String()), "| Custom | naive | accuracy gain (points) | +70.0 ± 0.0 (n=2) | +70.0 ± 0.0 (n=2) | +55.0 ± 0.0 (n=2) |") {
		t.Errorf("table 3b:\n%s", b.String())
	}
	if strings.Contains(b.String(), "loss fall (nats) |") {
		t.Errorf("table 3b has a loss row for runs without losses:\n%s", b.String())
	}
}

// LearnedLoss is L[0][j] − L[j+1][j] per task, in nats: for threeLoss
// 5.0 − 3.0 = 2, 5.0 − 2.0 = 3, 5.0 − 2.0 = 3; a second run that learned
// task 2 by 2.5 nats makes that task's mean 2.75.
func TestLearnedLossByHand(t *testing.T) {
	a := seqRunLoss("custom", "naive", 1, 0)
	b := seqRunLoss("custom", "naive", 2, 0)
	b.Loss[2][1] = 2.5 // run 2 learned task 2 by 2.5 nats, not 3
	s := Summarise([]*Run{a, b})
	e := s.Find("custom", "naive")
	want := []float64{2, 2.75, 3}
	if len(e.LearnedLoss) != 3 {
		t.Fatalf("learned loss %+v", e.LearnedLoss)
	}
	for j, w := range want {
		if got := e.LearnedLoss[j]; math.Abs(got.Mean-w) > 1e-9 || got.N != 2 {
			t.Errorf("task %d: %+v, want mean %v (n=2)", j+1, got, w)
		}
	}
	if e.LearnedLoss[0].CI != 0 || !(e.LearnedLoss[1].CI > 0) {
		t.Errorf("intervals %v, %v: want 0 and > 0", e.LearnedLoss[0].CI, e.LearnedLoss[1].CI)
	}
	var out strings.Builder
	if err := LearnedTable(&out, s, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(squash(out.String()), "| Custom | naive | loss fall (nats) | +2.000 ± 0.000 (n=2) |") {
		t.Errorf("table 3b:\n%s", out.String())
	}
}
