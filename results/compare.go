package results

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Tolerance maps a metric group (Metric.Group) to the largest change in
// the worse direction, in absolute points (percentage points, or percent
// for relative forgetting, retention and improvements), that is not a
// regression.
type Tolerance map[string]float64

// DefaultTolerance returns the documented defaults: acc 1, forgetting 2,
// bwt 2, fwt 2, retention 2, improvement 5, drop 2, loss 0.05 (nats per
// target, for forgetting measured in held-out loss). Runs are
// deterministic for a seed on one machine and build, so these only
// absorb floating-point differences between machines and builds, and
// small, deliberate changes.
func DefaultTolerance() Tolerance {
	return Tolerance{
		"acc": 1, "forgetting": 2, "bwt": 2, "fwt": 2,
		"retention": 2, "improvement": 5, "drop": 2, "loss": 0.05,
	}
}

// ParseTolerance parses a list such as "forgetting=2,acc=1" on top of
// the defaults. Unknown groups, and negative or malformed values, are
// errors.
func ParseTolerance(s string) (Tolerance, error) {
	tol := DefaultTolerance()
	if strings.TrimSpace(s) == "" {
		return tol, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("tolerance %q: want group=points", kv)
		}
		if _, known := tol[k]; !known {
			groups := make([]string, 0, len(tol))
			for g := range tol {
				groups = append(groups, g)
			}
			sort.Strings(groups)
			return nil, fmt.Errorf("tolerance %q: unknown group %q (known: %s)", kv, k, strings.Join(groups, ", "))
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("tolerance %q: want a non-negative number of points", kv)
		}
		tol[k] = x
	}
	return tol, nil
}

// Statuses of a Delta.
const (
	StatusOK         = "ok"
	StatusImproved   = "improved"
	StatusRegression = "REGRESSION"
	StatusMissing    = "MISSING"
	StatusNew        = "new"
)

// Delta is one metric of one model × method, reference against current.
type Delta struct {
	Model, Method string
	Metric        Metric
	Ref, Cur      Stat
	// Delta is Cur.Mean − Ref.Mean (NaN when either is undefined).
	Delta     float64
	Tolerance float64
	Status    string
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Deltas []Delta
	// Regressions holds one message per regression or missing value.
	Regressions []string
}

// Failed reports whether any regression was found.
func (c *Comparison) Failed() bool { return len(c.Regressions) > 0 }

// Compatible returns an error when two summaries were not made with the
// same profile, seeds and task orders, so that their scores cannot be
// compared.
func Compatible(ref, cur *Summary) error {
	if ref.Profile != cur.Profile {
		return fmt.Errorf("profile differs: reference %q, current %q", ref.Profile, cur.Profile)
	}
	// Scores move between matrix backends (different summation orders):
	// a reference gates only runs of the backend it was made with. An
	// older reference without the field is not checked.
	if ref.Backend != "" && cur.Backend != "" && ref.Backend != cur.Backend {
		return fmt.Errorf("matrix backend differs: reference %q, current %q (scores are reproducible within one backend; build with BACKEND=%s or make a reference for this backend with make reference)", ref.Backend, cur.Backend, ref.Backend)
	}
	if !slices.Equal(ref.Seeds, cur.Seeds) {
		return fmt.Errorf("seeds differ: reference %v, current %v", ref.Seeds, cur.Seeds)
	}
	protocols := map[string]bool{}
	for p := range ref.Tasks {
		protocols[p] = true
	}
	for p := range cur.Tasks {
		protocols[p] = true
	}
	for _, p := range sortedKeys(protocols) {
		if !slices.EqualFunc(ref.Tasks[p], cur.Tasks[p], slices.Equal[[]string]) {
			return fmt.Errorf("%s task orders differ: reference %s, current %s", p, orders(ref.Tasks[p]), orders(cur.Tasks[p]))
		}
	}
	return nil
}

func orders(tasks [][]string) string {
	if len(tasks) == 0 {
		return "none"
	}
	parts := make([]string, len(tasks))
	for i, o := range tasks {
		parts[i] = "[" + strings.Join(o, " ") + "]"
	}
	return strings.Join(parts, " ")
}

// Compare checks cur against ref metric by metric. A forgetting metric
// (or an accuracy drop) that rose, or an accuracy, transfer, retention or
// improvement that fell, by more than its group's tolerance, is a
// regression; so is a model × method or a metric present in the reference
// and missing (or undefined) in the current summary. It returns an error,
// and no comparison, when the summaries are not Compatible or a tolerance
// group is missing.
func Compare(ref, cur *Summary, tol Tolerance) (*Comparison, error) {
	if err := Compatible(ref, cur); err != nil {
		return nil, err
	}
	metrics := Metrics()
	for _, m := range metrics {
		if _, ok := tol[m.Group]; !ok {
			return nil, fmt.Errorf("no tolerance for metric group %q", m.Group)
		}
	}
	c := &Comparison{}
	for i := range ref.Entries {
		re := &ref.Entries[i]
		ce := cur.Find(re.Model, re.Method)
		if ce == nil {
			c.Regressions = append(c.Regressions, fmt.Sprintf("%s: in the reference but missing from the current run", re.Name()))
			c.Deltas = append(c.Deltas, Delta{Model: re.Model, Method: re.Method,
				Metric: Metric{Label: "(all metrics)"}, Ref: None(), Cur: None(), Delta: math.NaN(), Status: StatusMissing})
			continue
		}
		for _, m := range metrics {
			d := compareMetric(re, ce, m, tol[m.Group])
			if d == nil {
				continue
			}
			c.Deltas = append(c.Deltas, *d)
			switch d.Status {
			case StatusRegression:
				verb, cmp := "rose", ">"
				if m.HigherBetter {
					verb, cmp = "fell", "<"
				}
				tolText := fmt.Sprintf("tolerance %.1f", d.Tolerance)
				if cmp == "<" {
					tolText = fmt.Sprintf("-tolerance %.1f", d.Tolerance)
				}
				c.Regressions = append(c.Regressions, fmt.Sprintf("%s: %s %s %.1f%% → %.1f%% (%+.1f %s %s)",
					re.Name(), m.Label, verb, d.Ref.Mean, d.Cur.Mean, d.Delta, cmp, tolText))
			case StatusMissing:
				c.Regressions = append(c.Regressions, fmt.Sprintf("%s: %s has no value in the current run (reference %.1f%%)",
					re.Name(), m.Label, d.Ref.Mean))
			}
		}
	}
	for i := range cur.Entries {
		ce := &cur.Entries[i]
		if ref.Find(ce.Model, ce.Method) != nil {
			continue
		}
		for _, m := range metrics {
			if s := m.Get(ce); s.Defined() {
				c.Deltas = append(c.Deltas, Delta{Model: ce.Model, Method: ce.Method, Metric: m,
					Ref: None(), Cur: s, Delta: math.NaN(), Tolerance: tol[m.Group], Status: StatusNew})
			}
		}
	}
	return c, nil
}

// compareMetric compares one metric; nil when neither side has a value.
func compareMetric(re, ce *Entry, m Metric, tol float64) *Delta {
	r, c := m.Get(re), m.Get(ce)
	d := &Delta{Model: re.Model, Method: re.Method, Metric: m, Ref: r, Cur: c, Delta: math.NaN(), Tolerance: tol}
	switch {
	case !r.Defined() && !c.Defined():
		return nil
	case !r.Defined():
		d.Status = StatusNew
		return d
	case !c.Defined():
		d.Status = StatusMissing
		return d
	}
	d.Delta = c.Mean - r.Mean
	worse := d.Delta // positive = worse
	if m.HigherBetter {
		worse = -d.Delta
	}
	switch {
	case worse > tol:
		d.Status = StatusRegression
	case -worse > tol:
		d.Status = StatusImproved
	default:
		d.Status = StatusOK
	}
	return d
}

// Render writes the comparison as a table (reference / current / delta /
// status per model × method × metric) in format "text" or "markdown",
// followed by one line per regression.
func (c *Comparison) Render(w io.Writer, format string) error {
	num := func(s Stat) string {
		if !s.Defined() {
			return "—"
		}
		return fmt.Sprintf("%.1f", s.Mean)
	}
	t := &table{
		title:  "Comparison with the reference",
		header: []string{"model/method", "metric", "reference", "current", "delta", "tolerance", "status"},
		empty:  "Nothing to compare.",
	}
	for _, d := range c.Deltas {
		delta, tol := "—", "—"
		if !math.IsNaN(d.Delta) {
			delta = fmt.Sprintf("%+.1f", d.Delta)
		}
		if d.Metric.Key != "" {
			tol = fmt.Sprintf("%.1f", d.Tolerance)
		}
		t.rows = append(t.rows, []string{d.Model + "/" + d.Method, d.Metric.Label,
			num(d.Ref), num(d.Cur), delta, tol, d.Status})
	}
	if len(c.Regressions) == 0 {
		t.notes = []string{"No regression beyond tolerance."}
	} else {
		t.notes = append([]string{fmt.Sprintf("%d regression(s):", len(c.Regressions))}, c.Regressions...)
		if format == FormatMarkdown {
			for i := 1; i < len(t.notes); i++ {
				t.notes[i] = "- " + t.notes[i]
			}
			t.notes = slices.Insert(t.notes, 1, "")
		}
	}
	return t.write(w, format)
}
