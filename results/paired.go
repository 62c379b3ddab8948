package results

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// pairKey names one run: model, method, seed and task order (joined).
type pairKey struct {
	model, method string
	seed          uint64
	order         string
}

// pairedValues holds, per run, the value of each metric that comparisons
// pair (keyed as in Comparison.Metric).
type pairedValues map[pairKey]map[string]float64

func (v pairedValues) add(k pairKey, metric string, x float64) {
	if v[k] == nil {
		v[k] = map[string]float64{}
	}
	v[k][metric] = x
}

// pairedMetrics are the metrics that comparisons pair, with their units.
var pairedMetrics = []pairedMetric{
	{"rel_forgetting_avg", "average relative forgetting", "%", 1},
	{"loss_forgetting_avg", "average forgetting", "nats", 3},
	{"retention", "retention", "%", 1},
	{"retention_loss", "retention (perplexity ratio)", "%", 1},
}

// pairedMetric names a metric that comparisons pair, with its unit and
// the decimals its cells show.
type pairedMetric struct {
	key, label, unit string
	prec             int
}

// lookupPaired returns the pairedMetric of key.
func lookupPaired(key string) pairedMetric {
	for _, m := range pairedMetrics {
		if m.key == key {
			return m
		}
	}
	return pairedMetric{key, key, "", 1}
}

// diff returns the per-run differences a − b of metric over the runs of
// methods a and b of one model that share a seed and task order, and
// aggregates them. Runs whose value is undefined on either side count in
// Undefined.
func (v pairedValues) diff(model, a, b, metric string) Stat {
	var keys []pairKey
	for k := range v {
		if k.model == model && k.method == a {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].seed != keys[j].seed {
			return keys[i].seed < keys[j].seed
		}
		return keys[i].order < keys[j].order
	})
	var ds []float64
	for _, k := range keys {
		x, ok := v[k][metric]
		if !ok {
			continue
		}
		y, ok := v[pairKey{model, b, k.seed, k.order}][metric]
		if !ok {
			continue
		}
		ds = append(ds, x-y)
	}
	return Aggregate(ds)
}

// Paired is a paired comparison of two methods on one model: the
// per-run differences A − B of one metric over the runs of both that
// share a seed and task order, as a mean with its 95% interval.
type Paired struct {
	Model string `json:"model"`
	A     string `json:"a"`
	B     string `json:"b"`
	// Kind says why A is compared with B: "baseline", "control" or
	// "ladder" (B is A's parent, one setting below), or several of them
	// joined by ", ".
	Kind   string `json:"kind"`
	Metric string `json:"metric"`
	Diff   Stat   `json:"diff"`
}

// comparisons pairs every entry with its baseline, control and parent
// on every paired metric that both have runs of.
func (v pairedValues) comparisons(entries []Entry) []Paired {
	var out []Paired
	for _, e := range entries {
		// One comparison per method compared with; a method that is both
		// the control and the ladder parent (aisp-priority's
		// replay-matched) is one comparison of kind "control, ladder".
		var rels []struct{ kind, b string }
		for _, rel := range []struct{ kind, b string }{
			{"baseline", e.Info.Baseline}, {"control", e.Info.Control}, {"ladder", e.Info.Parent},
		} {
			if rel.b == "" {
				continue
			}
			if i := slices.IndexFunc(rels, func(r struct{ kind, b string }) bool { return r.b == rel.b }); i >= 0 {
				rels[i].kind += ", " + rel.kind
				continue
			}
			rels = append(rels, rel)
		}
		for _, rel := range rels {
			for _, m := range pairedMetrics {
				d := v.diff(e.Model, e.Method, rel.b, m.key)
				if d.N+d.Undefined == 0 {
					continue
				}
				out = append(out, Paired{Model: e.Model, A: e.Method, B: rel.b, Kind: rel.kind, Metric: m.key, Diff: d})
			}
		}
	}
	return out
}

// Verdict values.
const (
	Supported    = "supported"
	Contradicted = "contradicted"
	Inconclusive = "inconclusive"
)

// Verdict is one of the paper's claims checked on one model: the paired
// difference it rests on, the direction and size the paper claims, and
// the verdict (see Judge).
type Verdict struct {
	Model  string `json:"model"`
	Claim  string `json:"claim"`
	Metric string `json:"metric"`
	A      string `json:"a"`
	B      string `json:"b"`
	// Diff is the paired difference A − B (for the retention claim in
	// retention %, the paper's improvement (A − B) / B × 100 per run).
	Diff Stat `json:"diff"`
	// Direction is the sign the claim gives Diff: +1 or −1.
	Direction int `json:"direction"`
	// Size is the difference the paper's numbers imply; nil where the
	// measure is not the paper's.
	Size    *float64 `json:"size,omitempty"`
	Verdict string   `json:"verdict"`
}

// Judge gives a claim's verdict from the 95% interval of its paired
// difference d: "supported" when the interval lies wholly on the side
// of 0 the claim names (direction +1: above; −1: below), "contradicted"
// when it lies wholly on the other side, "inconclusive" when it contains
// 0 or fewer than 2 pairs were measured.
func Judge(d Stat, direction int) string {
	if d.N < 2 || math.IsNaN(d.CI) {
		return Inconclusive
	}
	lo, hi := d.Mean-d.CI, d.Mean+d.CI
	switch {
	case direction > 0 && lo > 0, direction < 0 && hi < 0:
		return Supported
	case direction > 0 && hi < 0, direction < 0 && lo > 0:
		return Contradicted
	}
	return Inconclusive
}

// SizeCell says where the claimed size lies against the interval of d:
// "within", "above" or "below" (— when there is no claimed size or no
// interval).
func SizeCell(d Stat, sizeOrNil *float64) string {
	if sizeOrNil == nil || d.N < 2 || math.IsNaN(d.CI) {
		return "—"
	}
	size := *sizeOrNil
	switch {
	case size > d.Mean+d.CI:
		return fmt.Sprintf("%+.4g: above the interval", size)
	case size < d.Mean-d.CI:
		return fmt.Sprintf("%+.4g: below the interval", size)
	}
	return fmt.Sprintf("%+.4g: within the interval", size)
}

// forgettingClaims are the paper's ordering of average forgetting,
// between the methods playing these roles: A forgets less than B, by the
// paper's numbers (ClaimForgettingAverage) A − B.
var forgettingClaims = [][2]string{
	{RoleEWC, RoleBaseline},
	{RoleReplay, RoleEWC},
	{RoleSleep, RoleReplay},
	{RoleSleep, RoleBaseline},
}

// verdicts checks the paper's claims on every model that has the runs:
// the forgetting ordering (in relative forgetting, the paper's measure,
// and in held-out loss) and the retention improvement from sleep (the
// paper's improvement, and the paired difference of the perplexity
// ratio).
func verdicts(s *Summary, vals pairedValues) []Verdict {
	var out []Verdict
	for _, model := range s.Models() {
		byRole := map[string]*Entry{}
		for i := range s.Entries {
			e := &s.Entries[i]
			if e.Model == model && e.Info.Role != "" {
				if old, ok := byRole[e.Info.Role]; !ok || e.Info.Rank < old.Info.Rank {
					byRole[e.Info.Role] = e
				}
			}
		}
		for _, c := range forgettingClaims {
			a, b := byRole[c[0]], byRole[c[1]]
			if a == nil || b == nil {
				continue
			}
			ca, _ := ClaimForgettingAverage(c[0])
			cb, _ := ClaimForgettingAverage(c[1])
			claim := fmt.Sprintf("%s forgets less than %s (%.0f%% vs %.0f%%)", label(a), label(b), ca, cb)
			size := ca - cb
			for _, m := range []struct {
				key  string
				size *float64
			}{{"rel_forgetting_avg", &size}, {"loss_forgetting_avg", nil}} {
				d := vals.diff(model, a.Method, b.Method, m.key)
				if d.N+d.Undefined == 0 {
					continue
				}
				out = append(out, Verdict{Model: model, Claim: claim, Metric: m.key, A: a.Method, B: b.Method,
					Diff: d, Direction: -1, Size: m.size, Verdict: Judge(d, -1)})
			}
		}
		if sleep, base := byRole[RoleSleep], byRole[RoleBaseline]; sleep != nil && base != nil && sleep.Improvement.N+sleep.Improvement.Undefined > 0 {
			claim := fmt.Sprintf("sleep raises retention by %+.0f%%", ClaimRetentionImprovement)
			size := ClaimRetentionImprovement
			out = append(out, Verdict{Model: model, Claim: claim, Metric: "retention_improvement", A: sleep.Method, B: base.Method,
				Diff: sleep.Improvement, Direction: 1, Size: &size, Verdict: Judge(sleep.Improvement, 1)})
			if d := vals.diff(model, sleep.Method, base.Method, "retention_loss"); d.N+d.Undefined > 0 {
				out = append(out, Verdict{Model: model, Claim: claim, Metric: "retention_loss", A: sleep.Method, B: base.Method,
					Diff: d, Direction: 1, Verdict: Judge(d, 1)})
			}
		}
	}
	return out
}

// label is an entry's method label.
func label(e *Entry) string {
	if e.Info.Label != "" {
		return e.Info.Label
	}
	return e.Method
}
