package results

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"
)

// tableSummary is a summary written by hand: custom with naive, aisp and
// replay-matched on dormancy (no replay-matched on gpt2), and a sequence
// row for each paper method.
func tableSummary() *Summary {
	st := func(m, ci float64, n int) Stat { return Stat{Mean: m, CI: ci, N: n} }
	return &Summary{
		SchemaVersion: SchemaVersion, Profile: "quick", Seeds: []uint64{1, 2, 3},
		Tasks: map[string][][]string{ProtocolSequence: {{"speech", "scripture", "email", "computing", "fiction"}}},
		Entries: []Entry{
			{Model: "gpt2-mini", Method: "naive", Info: fixtureInfo["naive"], Retention: st(60, 2, 3)},
			{Model: "gpt2-mini", Method: "aisp", Info: fixtureInfo["aisp"], Retention: st(66, 3, 3), Improvement: st(10, 1.5, 3)},
			{Model: "custom", Method: "naive", Info: fixtureInfo["naive"], Retention: st(70, 1, 3), RetentionLoss: st(90, 2, 3), LossAvg: st(0.4, 0.1, 3),
				ACC: st(55.5, 1.25, 3), F: st(20, 2, 3), BWT: st(-18.25, 2, 3), FWT: st(1.5, 0.5, 3),
				RelFirst: st(66.4, 9.1, 3), RelLast: Stat{Mean: math.NaN(), CI: math.NaN(), Undefined: 3}, RelAvg: st(61.6, 9.9, 3), RelExcluded: 3,
				CompBefore: st(55.5, 1, 3), CompPrune30: st(50, 1, 3), CompINT4: st(45, 1, 3), DropPrune30: st(5.5, 1, 3), DropINT4: st(10.5, 1, 3)},
			{Model: "custom", Method: "ewc", Info: fixtureInfo["ewc"], RelFirst: st(40, 5, 3), RelLast: st(30, 4, 3), RelAvg: st(35, 3, 3)},
			{Model: "custom", Method: "aisp", Info: fixtureInfo["aisp"], Retention: st(77, 1, 3), RetentionLoss: st(95, 1, 3), Improvement: st(10, 0.5, 3), VsMatched: st(-1.25, 0.5, 3),
				RelFirst: st(20, 5, 3), RelLast: Stat{Mean: 22, CI: math.NaN(), N: 1}, RelAvg: st(21.04, 3, 3)},
			{Model: "custom", Method: "replay-matched", Info: fixtureInfo["replay-matched"], Retention: st(78, 1, 3)},
		},
	}
}

// squash folds every run of spaces into one, so that table checks do not
// depend on column widths.
func squash(s string) string {
	return regexp.MustCompile(` +`).ReplaceAllString(s, " ")
}

func TestTablesText(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, tableSummary(), FormatText); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Table 1. Retention", "Table 2. Relative forgetting", "Table 3. Continual-learning", "Table 4. Compression",
		// Table 1: custom row; gpt2 has no matched run: "—".
		"│ Custom │ 70.0 ± 1.0 (n=3) │ 77.0 ± 1.0 (n=3) │ +10.0 ± 0.5 (n=3) │ 78.0 ± 1.0 (n=3) │ -1.2 ± 0.5 (n=3) │ 90.0 ± 2.0 (n=3) / 95.0 ± 1.0 (n=3) / — │ —, — │ improvement +23% (all models) │",
		"│ GPT-2 (gpt2-mini) │ 60.0 ± 2.0 (n=3) │ 66.0 ± 3.0 (n=3) │ +10.0 ± 1.5 (n=3) │ — │ — │",
		// Table 2: the last task is task 5; claims beside; n/a counted.
		"task 5 (last)",
		"│ Custom │ baseline (naive) │ 66.4 ± 9.1 (n=3) │ n/a (3 undefined) │ 61.6 ± 9.9 (n=3) │ 3 │ 0.400 ± 0.100 (n=3) │ 66% │",
		"│ Custom │ EWC │ 40.0 ± 5.0 (n=3) │ 30.0 ± 4.0 (n=3) │ 35.0 ± 3.0 (n=3) │ 0 │ — │ 47%",
		"│ Custom │ AISP │ 20.0 ± 5.0 (n=3) │ 22.0 (n=1) │ 21.0 ± 3.0 (n=3) │ 0 │ — │ 21%",
		// Table 3 and 4.
		"│ Custom │ naive │ 55.5 ± 1.2 (n=3) │ 20.0 ± 2.0 (n=3) │ -18.2 ± 2.0 (n=3) │ +1.5 ± 0.5 (n=3) │ — │ — │",
		"│ Custom │ naive │ 55.5 ± 1.0 (n=3) │ 50.0 ± 1.0 (n=3) │ 45.0 ± 1.0 (n=3) │ +5.5 ± 1.0 (n=3) │ +10.5 ± 1.0 (n=3) │",
	} {
		if !strings.Contains(squash(out), want) {
			t.Errorf("text tables lack %q\n%s", want, out)
		}
	}
	// Rows in the paper's order: GPT-2 before Custom in table 1.
	if strings.Index(squash(out), "GPT-2 (gpt2-mini) │ 60.0") > strings.Index(squash(out), "Custom │ 70.0") {
		t.Error("table 1 rows out of order")
	}
}

func TestTablesMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, tableSummary(), FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"### Table 1. Retention after the dormancy period (%)\n\n| model ",
		"|:------",
		"| Custom | AISP | 20.0 ± 5.0 (n=3) | 22.0 (n=1) | 21.0 ± 3.0 (n=3) | 0 | — | 21% |",
	} {
		if !strings.Contains(squash(out), want) {
			t.Errorf("markdown tables lack %q\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "┌│└") {
		t.Error("markdown output has box-drawing borders")
	}
}

func TestTablesEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, &Summary{SchemaVersion: SchemaVersion}, FormatText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No dormancy runs.", "No sequence runs.", "No compression results."} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("empty tables lack %q", want)
		}
	}
	if err := Render(&buf, tableSummary(), "html"); err == nil || !strings.Contains(err.Error(), `"html"`) {
		t.Errorf("unknown format: %v", err)
	}
}
