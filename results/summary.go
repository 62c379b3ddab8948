package results

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// Summary holds every metric per model × method, aggregated over runs.
// It is written as scores.json beside the run files, and a committed
// copy is the CI reference that `sleepbench compare` checks against.
//
// Accuracies, forgetting (F), BWT and FWT are in percentage points
// (fractions × 100); relative forgetting, retention and improvements are
// percentages.
type Summary struct {
	SchemaVersion string `json:"schema_version"`
	// Profile is the profile of the runs (several, comma-separated, when
	// runs of different profiles were summarised together).
	Profile string `json:"profile"`
	// Backend is the matrix backend of the runs (from each run's config
	// key "backend"; comma-separated when mixed, empty when unrecorded).
	// Scores are bit-identical only within one backend and build.
	Backend string `json:"backend,omitempty"`
	// Split is the held-out split the runs were scored on ("validation"
	// when a profile's budgets were being chosen; comma-separated when
	// mixed; empty for "test" or unrecorded).
	Split string `json:"split,omitempty"`
	// Seeds is the sorted set of seeds of the runs.
	Seeds []uint64 `json:"seeds"`
	// Tasks holds, per protocol, the sorted set of task orders of the
	// runs.
	Tasks map[string][][]string `json:"tasks"`
	// Entries has one entry per model × method, in table order.
	Entries []Entry `json:"entries"`
	// Comparisons pairs each method with its baseline, its
	// compute-matched control and its parent on the ladder (MethodInfo),
	// run by run; Verdicts are the paper's claims checked on them.
	Comparisons []Paired  `json:"comparisons,omitempty"`
	Verdicts    []Verdict `json:"verdicts,omitempty"`
}

// Entry is the aggregated metrics of one model × method. A Stat with no
// data (N = 0) means no run of that protocol was found.
type Entry struct {
	Model  string `json:"model"`
	Method string `json:"method"`
	// Info is the method's table metadata, from its run records.
	Info MethodInfo `json:"method_info"`
	// Runs counts the run records summarised, of every protocol.
	Runs int `json:"runs"`

	// Sequence protocol, rows 0..T of R.
	ACC Stat `json:"acc"`
	F   Stat `json:"forgetting"`
	BWT Stat `json:"bwt"`
	FWT Stat `json:"fwt"`
	// Relative forgetting (%) read at the last row of R (the next-day
	// row when present): task 1, the last task, and the mean over the
	// defined tasks of each run.
	RelFirst Stat `json:"rel_forgetting_task1"`
	RelLast  Stat `json:"rel_forgetting_last_task"`
	RelAvg   Stat `json:"rel_forgetting_avg"`
	// RelExcluded counts (run, task) relative-forgetting values that were
	// undefined and left out of RelAvg.
	RelExcluded int `json:"rel_forgetting_excluded"`
	// The same on held-out loss, in nats per target: Chaudhry's F and
	// BWT over rows 0..T, and the paper-layout average forgetting read at
	// the last row (LossForgetting).
	FLoss Stat `json:"forgetting_loss"`
	// Learned holds, per task in training order, the accuracy gain right
	// after training it over before any training, R[j][j] − R[0][j]
	// (points): whether the model learned each domain at all.
	Learned []Stat `json:"learned,omitempty"`
	// LearnedLoss is the same in held-out loss, L[0][j] − L[j+1][j]
	// (nats per target; positive when training on task j lowered its
	// loss), for runs that recorded the loss matrix.
	LearnedLoss []Stat `json:"learned_loss,omitempty"`
	BWTLoss     Stat   `json:"bwt_loss"`
	LossAvg     Stat   `json:"loss_forgetting_avg"`

	// Dormancy protocol: retention %, and the paper's improvement of this
	// method's retention over its baseline's (paired by seed and task
	// order), and over its compute-matched control's (MethodInfo).
	Retention   Stat `json:"retention"`
	Improvement Stat `json:"retention_improvement"`
	VsMatched   Stat `json:"retention_improvement_vs_matched"`
	// Retention as a perplexity ratio (LossRetention), and the base
	// task's accuracy (points) and loss on the last day.
	RetentionLoss Stat `json:"retention_loss"`
	LastDayAcc    Stat `json:"last_day_acc"`
	LastDayLoss   Stat `json:"last_day_loss"`

	// Compression: mean accuracy over the tasks before any transform,
	// after pruning 30%, after INT4, and the drops (before − after).
	CompBefore  Stat `json:"compression_before"`
	CompPrune30 Stat `json:"compression_prune30"`
	CompINT4    Stat `json:"compression_int4"`
	DropPrune30 Stat `json:"compression_drop_prune30"`
	DropINT4    Stat `json:"compression_drop_int4"`
	// The same with the embeddings included, and the share of all
	// parameters that the matrices-only and the embeddings-included
	// transforms touch (%).
	DropPruneAll Stat `json:"compression_drop_prune30_all"`
	DropINT4All  Stat `json:"compression_drop_int4_all"`
	ShareMatrix  Stat `json:"compression_share_matrices"`
	ShareAll     Stat `json:"compression_share_all"`
}

// Name is "model/method".
func (e *Entry) Name() string { return e.Model + "/" + e.Method }

// Metric describes one summary metric for comparisons.
type Metric struct {
	// Key is the metric's JSON name in an Entry.
	Key string
	// Label is its name in messages and tables.
	Label string
	// Group is its tolerance group (see Tolerance).
	Group string
	// HigherBetter is true for accuracies and transfer, false for
	// forgetting and accuracy drops.
	HigherBetter bool
	// Get reads the metric from an entry.
	Get func(*Entry) Stat
}

// Metrics lists the metrics that compare checks, in report order.
func Metrics() []Metric {
	return []Metric{
		{"acc", "ACC", "acc", true, func(e *Entry) Stat { return e.ACC }},
		{"forgetting", "forgetting F", "forgetting", false, func(e *Entry) Stat { return e.F }},
		{"bwt", "BWT", "bwt", true, func(e *Entry) Stat { return e.BWT }},
		{"fwt", "FWT", "fwt", true, func(e *Entry) Stat { return e.FWT }},
		{"rel_forgetting_task1", "task-1 relative forgetting", "forgetting", false, func(e *Entry) Stat { return e.RelFirst }},
		{"rel_forgetting_last_task", "last-task relative forgetting", "forgetting", false, func(e *Entry) Stat { return e.RelLast }},
		{"rel_forgetting_avg", "average relative forgetting", "forgetting", false, func(e *Entry) Stat { return e.RelAvg }},
		{"forgetting_loss", "forgetting F (nats)", "loss", false, func(e *Entry) Stat { return e.FLoss }},
		{"loss_forgetting_avg", "average forgetting after the next day (nats)", "loss", false, func(e *Entry) Stat { return e.LossAvg }},
		{"retention", "retention", "retention", true, func(e *Entry) Stat { return e.Retention }},
		{"retention_loss", "retention (perplexity ratio)", "retention", true, func(e *Entry) Stat { return e.RetentionLoss }},
		{"retention_improvement", "retention improvement", "improvement", true, func(e *Entry) Stat { return e.Improvement }},
		{"retention_improvement_vs_matched", "retention improvement over replay-matched", "improvement", true, func(e *Entry) Stat { return e.VsMatched }},
		{"compression_before", "accuracy before compression", "acc", true, func(e *Entry) Stat { return e.CompBefore }},
		{"compression_drop_prune30", "accuracy drop after pruning 30%", "drop", false, func(e *Entry) Stat { return e.DropPrune30 }},
		{"compression_drop_int4", "accuracy drop after INT4", "drop", false, func(e *Entry) Stat { return e.DropINT4 }},
	}
}

// samples collects one value per run for each metric of an entry.
type samples struct {
	info                                     MethodInfo
	runs                                     int
	acc, f, bwt, fwt, relFirst, relLast      []float64
	learned                                  [][]float64 // per task, one value per run
	learnedLoss                              [][]float64 // the same in nats
	relAvg                                   []float64
	relExcluded                              int
	fLoss, bwtLoss, lossAvg                  []float64
	retention, improvement, vsMatched        []float64
	retentionLoss, lastAcc, lastLoss         []float64
	before, prune, int4, dropPrune, dropINT4 []float64
	dropPruneAll, dropINT4All                []float64
	shareMatrix, shareAll                    []float64
}

type key struct{ model, method string }

// Summarise aggregates runs into a Summary: one entry per model × method,
// each metric a mean over the runs with a 95% interval. Sequence runs
// give ACC, F, BWT, FWT and relative forgetting; dormancy runs give
// retention, and improvements over the run of the method's baseline (and
// of its compute-matched control) of the same model, seed and task order,
// as each record's MethodInfo names them; any run
// with Compression gives the compression figures. Undefined values (NaN)
// are counted and left out of the means.
func Summarise(runs []*Run) *Summary {
	s := &Summary{SchemaVersion: SchemaVersion}
	groups := map[key]*samples{}
	get := func(r *Run) *samples {
		k := key{r.Model, r.Method}
		g := groups[k]
		if g == nil {
			g = &samples{}
			groups[k] = g
		}
		return g
	}
	profiles := map[string]bool{}
	splits := map[string]bool{}
	backends := map[string]bool{}
	seeds := map[uint64]bool{}
	orders := map[string]map[string][]string{} // protocol → joined order → order
	// Dormancy retention by model, method, seed and order, for pairing.
	retention := map[pairKey]float64{}
	vals := pairedValues{}

	for _, r := range runs {
		profiles[r.Profile] = true
		if sp := r.Config["eval_split"]; sp != "" && sp != "test" {
			splits[sp] = true
		}
		if b := r.Config["backend"]; b != "" {
			backends[b] = true
		}
		seeds[r.Seed] = true
		order := strings.Join(r.Tasks, "\x00")
		if len(r.Tasks) > 0 {
			if orders[r.Protocol] == nil {
				orders[r.Protocol] = map[string][]string{}
			}
			orders[r.Protocol][order] = r.Tasks
		}
		g := get(r)
		g.info = r.MethodInfo
		g.runs++
		pk := pairKey{r.Model, r.Method, r.Seed, order}
		if r.Protocol == ProtocolSequence && len(r.R) > 0 {
			g.addSequence(r.R)
			vals.add(pk, "rel_forgetting_avg", last(g.relAvg))
		}
		if r.Protocol == ProtocolSequence && len(r.Loss) > 0 {
			g.addSequenceLoss(r.Loss)
			vals.add(pk, "loss_forgetting_avg", last(g.lossAvg))
		}
		if r.Protocol == ProtocolDormancy && len(r.Days) > 0 {
			v, _ := Retention(r.Days)
			g.retention = append(g.retention, v)
			g.lastAcc = append(g.lastAcc, r.Days[len(r.Days)-1]*100)
			retention[pk] = v
			vals.add(pk, "retention", v)
		}
		if r.Protocol == ProtocolDormancy && len(r.DaysLoss) > 0 {
			v, _ := LossRetention(r.DaysLoss)
			g.retentionLoss = append(g.retentionLoss, v)
			g.lastLoss = append(g.lastLoss, r.DaysLoss[len(r.DaysLoss)-1])
			vals.add(pk, "retention_loss", v)
		}
		if len(r.Compression) > 0 {
			g.addCompression(r.Compression, r.CompressionShare)
		}
	}
	// Improvements, paired by model, seed and task order.
	for _, r := range runs {
		if r.Protocol != ProtocolDormancy || len(r.Days) == 0 {
			continue
		}
		order := strings.Join(r.Tasks, "\x00")
		v := retention[pairKey{r.Model, r.Method, r.Seed, order}]
		g := get(r)
		if b := r.MethodInfo.Baseline; b != "" {
			if base, ok := retention[pairKey{r.Model, b, r.Seed, order}]; ok {
				imp, _ := Improvement(v, base)
				g.improvement = append(g.improvement, imp)
			}
		}
		if c := r.MethodInfo.Control; c != "" {
			if base, ok := retention[pairKey{r.Model, c, r.Seed, order}]; ok {
				imp, _ := Improvement(v, base)
				g.vsMatched = append(g.vsMatched, imp)
			}
		}
	}

	s.Profile = strings.Join(sortedKeys(profiles), ",")
	s.Backend = strings.Join(sortedKeys(backends), ",")
	s.Split = strings.Join(sortedKeys(splits), ",")
	for seed := range seeds {
		s.Seeds = append(s.Seeds, seed)
	}
	slices.Sort(s.Seeds)
	s.Tasks = map[string][][]string{}
	for p, byOrder := range orders {
		for _, o := range sortedKeys(byOrder) {
			s.Tasks[p] = append(s.Tasks[p], byOrder[o])
		}
	}
	for k, g := range groups {
		s.Entries = append(s.Entries, g.entry(k))
	}
	sort.Slice(s.Entries, func(i, j int) bool { return entryLess(&s.Entries[i], &s.Entries[j]) })
	s.Comparisons = vals.comparisons(s.Entries)
	s.Verdicts = verdicts(s, vals)
	return s
}

// aggregateEach aggregates each of xs's lists.
func aggregateEach(xs [][]float64) []Stat {
	var out []Stat
	for _, x := range xs {
		out = append(out, Aggregate(x))
	}
	return out
}

// last is the last element of xs, NaN when empty.
func last(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)-1]
}

// addSequenceLoss adds one sequence run's loss-matrix metrics.
func (g *samples) addSequenceLoss(L [][]float64) {
	_, f, _ := LossForgetting(L, false)
	bwt, _ := LossBWT(L)
	_, avg, _ := LossForgetting(L, true)
	g.fLoss = append(g.fLoss, f)
	g.bwtLoss = append(g.bwtLoss, bwt)
	g.lossAvg = append(g.lossAvg, avg)
	for j := 0; j < len(L[0]) && j+1 < len(L); j++ {
		if j >= len(g.learnedLoss) {
			g.learnedLoss = append(g.learnedLoss, nil)
		}
		g.learnedLoss[j] = append(g.learnedLoss[j], L[0][j]-L[j+1][j])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// addSequence adds one sequence run's matrix metrics. R was validated
// when the run was loaded; a shape error here leaves NaNs.
func (g *samples) addSequence(R [][]float64) {
	acc, _ := ACC(R)
	_, f, _ := Forgetting(R)
	bwt, _ := BWT(R)
	fwt, _ := FWT(R)
	g.acc = append(g.acc, acc*100)
	for j := 0; j < len(R[0]) && j+1 < len(R); j++ {
		if j >= len(g.learned) {
			g.learned = append(g.learned, nil)
		}
		g.learned[j] = append(g.learned[j], (R[j+1][j]-R[0][j])*100)
	}
	g.f = append(g.f, f*100)
	g.bwt = append(g.bwt, bwt*100)
	g.fwt = append(g.fwt, fwt*100)
	rel, err := RelativeForgetting(R)
	if err != nil || len(rel.Tasks) == 0 {
		g.relFirst = append(g.relFirst, math.NaN())
		g.relLast = append(g.relLast, math.NaN())
		g.relAvg = append(g.relAvg, math.NaN())
		return
	}
	g.relFirst = append(g.relFirst, rel.Tasks[0])
	g.relLast = append(g.relLast, rel.Tasks[len(rel.Tasks)-1])
	g.relAvg = append(g.relAvg, rel.Mean)
	g.relExcluded += rel.Excluded
}

// addCompression adds one run's compression figures: the mean over
// tasks of each transform's accuracy, and the drops from "none".
func (g *samples) addCompression(c map[string][]float64, share map[string]float64) {
	mean := func(name string) float64 {
		xs, ok := c[name]
		if !ok || len(xs) == 0 {
			return math.NaN()
		}
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs)) * 100
	}
	before, prune, int4 := mean(TransformNone), mean(TransformPrune30), mean(TransformINT4)
	g.before = append(g.before, before)
	g.prune = append(g.prune, prune)
	g.int4 = append(g.int4, int4)
	g.dropPrune = append(g.dropPrune, before-prune)
	g.dropINT4 = append(g.dropINT4, before-int4)
	g.dropPruneAll = append(g.dropPruneAll, before-mean(TransformPrune30All))
	g.dropINT4All = append(g.dropINT4All, before-mean(TransformINT4All))
	pct := func(name string) float64 {
		if v, ok := share[name]; ok {
			return v * 100
		}
		return math.NaN()
	}
	g.shareMatrix = append(g.shareMatrix, pct(TransformPrune30))
	g.shareAll = append(g.shareAll, pct(TransformPrune30All))
}

func (g *samples) entry(k key) Entry {
	return Entry{
		Model: k.model, Method: k.method, Info: g.info, Runs: g.runs, Learned: aggregateEach(g.learned), LearnedLoss: aggregateEach(g.learnedLoss),
		ACC: Aggregate(g.acc), F: Aggregate(g.f), BWT: Aggregate(g.bwt), FWT: Aggregate(g.fwt),
		RelFirst: Aggregate(g.relFirst), RelLast: Aggregate(g.relLast), RelAvg: Aggregate(g.relAvg),
		RelExcluded: g.relExcluded,
		FLoss:       Aggregate(g.fLoss), BWTLoss: Aggregate(g.bwtLoss), LossAvg: Aggregate(g.lossAvg),
		Retention: Aggregate(g.retention), Improvement: Aggregate(g.improvement), VsMatched: Aggregate(g.vsMatched),
		RetentionLoss: Aggregate(g.retentionLoss), LastDayAcc: Aggregate(g.lastAcc), LastDayLoss: Aggregate(g.lastLoss),
		CompBefore: Aggregate(g.before), CompPrune30: Aggregate(g.prune), CompINT4: Aggregate(g.int4),
		DropPrune30: Aggregate(g.dropPrune), DropINT4: Aggregate(g.dropINT4),
		DropPruneAll: Aggregate(g.dropPruneAll), DropINT4All: Aggregate(g.dropINT4All),
		ShareMatrix: Aggregate(g.shareMatrix), ShareAll: Aggregate(g.shareAll),
	}
}

// Family is the model family shown in the paper-layout tables: "BERT"
// for bert-*, "GPT-2" for gpt2*, "Custom" for custom, else the model name.
func Family(model string) string {
	switch {
	case strings.HasPrefix(model, "bert"):
		return "BERT"
	case strings.HasPrefix(model, "gpt2"):
		return "GPT-2"
	case model == "custom":
		return "Custom"
	}
	return model
}

func modelRank(model string) int {
	switch Family(model) {
	case "BERT":
		return 0
	case "GPT-2":
		return 1
	case "Custom":
		return 2
	}
	return 3
}

func entryLess(a, b *Entry) bool {
	if ra, rb := modelRank(a.Model), modelRank(b.Model); ra != rb {
		return ra < rb
	}
	if a.Model != b.Model {
		return a.Model < b.Model
	}
	if a.Info.Rank != b.Info.Rank {
		return a.Info.Rank < b.Info.Rank
	}
	return a.Method < b.Method
}

// Find returns the entry of model × method, or nil.
func (s *Summary) Find(model, method string) *Entry {
	for i := range s.Entries {
		if s.Entries[i].Model == model && s.Entries[i].Method == method {
			return &s.Entries[i]
		}
	}
	return nil
}

// Models returns the models of the entries, in table order.
func (s *Summary) Models() []string {
	var ms []string
	for _, e := range s.Entries {
		if !slices.Contains(ms, e.Model) {
			ms = append(ms, e.Model)
		}
	}
	return ms
}
