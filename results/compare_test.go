package results

import (
	"bytes"
	"strings"
	"testing"
)

func mustCompare(t *testing.T, ref, cur *Summary, tol Tolerance) *Comparison {
	t.Helper()
	c, err := Compare(ref, cur, tol)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompareIdentical(t *testing.T) {
	ref := Summarise(fixtureRuns())
	cur := Summarise(fixtureRuns())
	c := mustCompare(t, ref, cur, DefaultTolerance())
	if c.Failed() {
		t.Fatalf("identical summaries fail: %v", c.Regressions)
	}
	if len(c.Deltas) == 0 {
		t.Fatal("no metric compared")
	}
	for _, d := range c.Deltas {
		if d.Status != StatusOK || d.Delta != 0 {
			t.Errorf("%s/%s %s: %s delta %v", d.Model, d.Method, d.Metric.Key, d.Status, d.Delta)
		}
	}
}

// withEntry returns a copy of s with the entry model/method changed by f.
func withEntry(s *Summary, model, method string, f func(*Entry)) *Summary {
	c := *s
	c.Entries = append([]Entry(nil), s.Entries...)
	f(c.Find(model, method))
	return &c
}

func TestComparePlantedRegression(t *testing.T) {
	ref := tableSummary()
	cur := withEntry(ref, "custom", "ewc", func(e *Entry) { e.RelAvg.Mean = 36.0 })
	ref = withEntry(ref, "custom", "ewc", func(e *Entry) { e.RelAvg.Mean = 31.2 })
	c := mustCompare(t, ref, cur, DefaultTolerance())
	want := "custom/ewc: average relative forgetting rose 31.2% → 36.0% (+4.8 > tolerance 2.0)"
	if len(c.Regressions) != 1 || c.Regressions[0] != want {
		t.Fatalf("regressions %q\nwant [%q]", c.Regressions, want)
	}
	var buf bytes.Buffer
	if err := c.Render(&buf, FormatText); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{want, "1 regression(s):"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q\n%s", s, out)
		}
	}
	row := false
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "custom/ewc") && strings.Contains(line, "average relative forgetting") &&
			strings.Contains(line, "31.2") && strings.Contains(line, "36.0") && strings.Contains(line, "+4.8") && strings.Contains(line, StatusRegression) {
			row = true
		}
	}
	if !row {
		t.Errorf("report has no row for the regression\n%s", out)
	}
	// A larger tolerance lets it pass.
	tol, err := ParseTolerance("forgetting=5")
	if err != nil {
		t.Fatal(err)
	}
	if c := mustCompare(t, ref, cur, tol); c.Failed() {
		t.Errorf("within tolerance 5: %v", c.Regressions)
	}
}

func TestCompareAccuracyFall(t *testing.T) {
	ref := tableSummary()
	cur := withEntry(ref, "custom", "naive", func(e *Entry) {
		e.ACC.Mean = 53.0  // −2.5 < −1
		e.BWT.Mean = -19.0 // −0.75, within 2
		e.DropINT4.Mean = 13.0
	})
	c := mustCompare(t, ref, cur, DefaultTolerance())
	want := []string{
		"custom/naive: ACC fell 55.5% → 53.0% (-2.5 < -tolerance 1.0)",
		"custom/naive: accuracy drop after INT4 rose 10.5% → 13.0% (+2.5 > tolerance 2.0)",
	}
	if strings.Join(c.Regressions, "\n") != strings.Join(want, "\n") {
		t.Errorf("regressions %q\nwant %q", c.Regressions, want)
	}
}

func TestCompareImprovementsPass(t *testing.T) {
	ref := tableSummary()
	cur := withEntry(ref, "custom", "aisp", func(e *Entry) {
		e.RelAvg.Mean = 10    // forgetting fell by 11
		e.Retention.Mean = 90 // retention rose by 13
	})
	cur = withEntry(cur, "custom", "naive", func(e *Entry) { e.ACC.Mean = 70 })
	c := mustCompare(t, ref, cur, DefaultTolerance())
	if c.Failed() {
		t.Fatalf("improvements fail: %v", c.Regressions)
	}
	improved := 0
	for _, d := range c.Deltas {
		if d.Status == StatusImproved {
			improved++
		}
	}
	if improved != 3 {
		t.Errorf("%d improved, want 3", improved)
	}
}

func TestCompareMissing(t *testing.T) {
	ref := tableSummary()
	cur := *ref
	cur.Entries = nil
	for _, e := range ref.Entries {
		if e.Model+"/"+e.Method != "custom/ewc" {
			cur.Entries = append(cur.Entries, e)
		}
	}
	// A metric that became undefined is missing too.
	cur2 := withEntry(&cur, "custom", "aisp", func(e *Entry) { e.RelLast = Stat{Mean: nan(), CI: nan(), Undefined: 1} })
	c := mustCompare(t, ref, cur2, DefaultTolerance())
	want := []string{
		"custom/ewc: in the reference but missing from the current run",
		"custom/aisp: last-task relative forgetting has no value in the current run (reference 22.0%)",
	}
	if strings.Join(c.Regressions, "\n") != strings.Join(want, "\n") {
		t.Errorf("regressions %q\nwant %q", c.Regressions, want)
	}
	// An entry only in the current run is new, not a failure.
	c = mustCompare(t, &cur, ref, DefaultTolerance())
	if c.Failed() {
		t.Errorf("new entry fails: %v", c.Regressions)
	}
	news := 0
	for _, d := range c.Deltas {
		if d.Status == StatusNew {
			news++
		}
	}
	if news != 3 { // custom/ewc's three relative-forgetting metrics
		t.Errorf("%d new metrics, want 3", news)
	}
}

func TestCompareIncompatible(t *testing.T) {
	ref := tableSummary()
	for name, c := range map[string]struct {
		change func(*Summary)
		want   string
	}{
		"profile": {func(s *Summary) { s.Profile = "default" }, `profile differs: reference "quick", current "default"`},
		"seeds":   {func(s *Summary) { s.Seeds = []uint64{1, 2} }, "seeds differ: reference [1 2 3], current [1 2]"},
		"order": {func(s *Summary) {
			s.Tasks = map[string][][]string{ProtocolSequence: {{"fiction", "scripture", "email", "computing", "speech"}}}
		}, "sequence task orders differ"},
		"protocol": {func(s *Summary) {
			s.Tasks = map[string][][]string{ProtocolSequence: ref.Tasks[ProtocolSequence], ProtocolDormancy: {{"speech"}}}
		}, "dormancy task orders differ: reference none, current [speech]"},
	} {
		cur := *ref
		c.change(&cur)
		_, err := Compare(ref, &cur, DefaultTolerance())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
}

func TestParseTolerance(t *testing.T) {
	tol, err := ParseTolerance("forgetting=0.5, acc=3")
	if err != nil || tol["forgetting"] != 0.5 || tol["acc"] != 3 || tol["bwt"] != 2 {
		t.Errorf("ParseTolerance = %v, %v", tol, err)
	}
	for in, want := range map[string]string{
		"forgetting":    "want group=points",
		"speed=2":       `unknown group "speed"`,
		"acc=-1":        "non-negative",
		"acc=one":       "non-negative",
		"forgetting=2,": "want group=points",
	} {
		if _, err := ParseTolerance(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTolerance(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := Compare(tableSummary(), tableSummary(), Tolerance{"acc": 1}); err == nil {
		t.Error("Compare with missing tolerance groups accepted")
	}
}

func nan() float64 { return None().Mean }

func TestCompareRegressionFromRuns(t *testing.T) {
	ref := Summarise(fixtureRuns())
	runs := fixtureRuns()
	for _, r := range runs {
		if r.Model == "custom" && r.Method == "ewc" && r.Protocol == ProtocolSequence {
			r.R = shift(r.R, 0.05) // 5 points lower on the next day: more forgetting
		}
	}
	c := mustCompare(t, ref, Summarise(runs), DefaultTolerance())
	if !c.Failed() {
		t.Fatal("more forgetting passed")
	}
	for _, msg := range c.Regressions {
		if !strings.HasPrefix(msg, "custom/ewc: ") || !strings.Contains(msg, "relative forgetting rose") {
			t.Errorf("unexpected regression %q", msg)
		}
	}
	// task 1, last task and average all rose; ACC (row T) did not move.
	if len(c.Regressions) != 3 {
		t.Errorf("regressions %q, want the three relative-forgetting metrics", c.Regressions)
	}
}

func TestCompareBackend(t *testing.T) {
	ref := tableSummary()
	ref.Backend = "openblas"
	cur := *ref
	cur.Backend = "go-asm"
	if _, err := Compare(ref, &cur, DefaultTolerance()); err == nil || !strings.Contains(err.Error(), `matrix backend differs: reference "openblas", current "go-asm"`) {
		t.Errorf("error %v, want a backend mismatch", err)
	}
	cur.Backend = "openblas"
	if _, err := Compare(ref, &cur, DefaultTolerance()); err != nil {
		t.Errorf("same backend: %v", err)
	}
	cur.Backend = "" // runs that did not record it are not checked
	if _, err := Compare(ref, &cur, DefaultTolerance()); err != nil {
		t.Errorf("unrecorded backend: %v", err)
	}
}
