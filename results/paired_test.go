package results

import (
	"math"
	"testing"
)

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		d    Stat
		dir  int
		want string
	}{
		{Stat{Mean: -5, CI: 2, N: 3}, -1, Supported},    // [−7, −3] below 0, as claimed
		{Stat{Mean: -5, CI: 2, N: 3}, +1, Contradicted}, // claimed above 0
		{Stat{Mean: 5, CI: 2, N: 3}, -1, Contradicted},
		{Stat{Mean: 1, CI: 2, N: 3}, -1, Inconclusive}, // [−1, 3] holds 0
		{Stat{Mean: 2, CI: 2, N: 3}, +1, Inconclusive}, // [0, 4]: 0 is not excluded
		{Stat{Mean: 5, CI: math.NaN(), N: 1}, +1, Inconclusive},
	} {
		if got := Judge(c.d, c.dir); got != c.want {
			t.Errorf("Judge(%+v, %d) = %s, want %s", c.d, c.dir, got, c.want)
		}
	}
	size := -19.0
	if got := SizeCell(Stat{Mean: -5, CI: 2, N: 3}, &size); got != "-19: below the interval" {
		t.Errorf("SizeCell = %q", got)
	}
}

// TestPairedByHand pairs dormancy runs by seed: aisp's retention minus
// naive's, seed by seed, with the unpaired seed 4 left out.
func TestPairedByHand(t *testing.T) {
	runs := []*Run{
		dormRun("custom", "naive", 1, 0.8, 0.60), // retention 75
		dormRun("custom", "naive", 2, 0.8, 0.64), // 80
		dormRun("custom", "naive", 3, 0.8, 0.56), // 70
		dormRun("custom", "aisp", 1, 0.8, 0.64),  // 80
		dormRun("custom", "aisp", 2, 0.8, 0.68),  // 85
		dormRun("custom", "aisp", 3, 0.8, 0.64),  // 80
		dormRun("custom", "aisp", 4, 0.8, 0.08),  // 10, no naive seed 4
	}
	s := Summarise(runs)
	var got *Paired
	for i, c := range s.Comparisons {
		if c.A == "aisp" && c.B == "naive" && c.Metric == "retention" {
			got = &s.Comparisons[i]
		}
	}
	if got == nil || got.Kind != "baseline" {
		t.Fatalf("no aisp − naive retention comparison in %+v", s.Comparisons)
	}
	// Differences 5, 5, 10: mean 6.6667, sd 2.88675, t(0.975, 2) = 4.30265,
	// CI = 4.30265 · 2.88675 / √3 = 7.17107.
	if math.Abs(got.Diff.Mean-20.0/3) > 1e-9 || math.Abs(got.Diff.CI-7.171087) > 1e-5 || got.Diff.N != 3 {
		t.Errorf("diff %+v, want 6.6667 ± 7.1711 (n=3)", got.Diff)
	}
	// The retention claim: per-seed improvements (80−75)/75, (85−80)/80,
	// (80−70)/70 × 100 = 6.667, 6.25, 14.286: all positive, but the
	// interval (mean 9.07, CI 11.2) holds 0: inconclusive.
	var v *Verdict
	for i := range s.Verdicts {
		if s.Verdicts[i].Metric == "retention_improvement" {
			v = &s.Verdicts[i]
		}
	}
	if v == nil || v.Verdict != Inconclusive || v.Diff.N != 3 || math.Abs(v.Diff.Mean-(100.0/15+6.25+100.0/7)/3) > 1e-9 {
		t.Errorf("retention verdict %+v, want inconclusive over 3 pairs", v)
	}
}
