package results

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Table formats.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
)

// CheckFormat returns an error unless format is FormatText or
// FormatMarkdown.
func CheckFormat(format string) error {
	if format != FormatText && format != FormatMarkdown {
		return fmt.Errorf("unknown table format %q (want %q or %q)", format, FormatText, FormatMarkdown)
	}
	return nil
}

// Render writes the tables — retention, forgetting, the standard
// continual-learning table, compression, the paired comparisons and the
// verdict on each of the paper's claims — in format "text" (for a
// terminal) or "markdown".
func Render(w io.Writer, s *Summary, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	if s.Split != "" {
		fmt.Fprintf(w, "Scored on the %s split: these runs choose budgets; they are not results.\n\n", s.Split)
	}
	for _, t := range []func(io.Writer, *Summary, string) error{
		RetentionTable, ForgettingTable, StandardTable, LearnedTable, CompressionTable, PairedTable, VerdictTable,
	} {
		if err := t(w, s, format); err != nil {
			return err
		}
	}
	return nil
}

// table is one rendered table: a title, a header, rows and notes below.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
	empty  string // shown instead of the table when it has no rows
}

// WriteTable renders one titled table (terminal or Markdown) with notes
// below it, in the same style as the paper-layout tables; other packages
// (the MNIST suite) print their tables through it.
func WriteTable(w io.Writer, format, title string, header []string, rows [][]string, notes []string) error {
	t := table{title: title, header: header, rows: rows, notes: notes}
	return t.write(w, format)
}

func (t *table) write(w io.Writer, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	if format == FormatMarkdown {
		fmt.Fprintf(w, "### %s\n\n", t.title)
	} else {
		fmt.Fprintf(w, "%s\n%s\n", t.title, strings.Repeat("=", len([]rune(t.title))))
	}
	if len(t.rows) == 0 {
		_, err := fmt.Fprintf(w, "%s\n\n", t.empty)
		return err
	}
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	}
	if format == FormatMarkdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	tab := tablewriter.NewTable(w, opts...)
	tab.Header(toAny(t.header)...)
	for i, row := range t.rows {
		if err := tab.Append(toAny(row)...); err != nil {
			return fmt.Errorf("table %q row %d: %w", t.title, i, err)
		}
	}
	if err := tab.Render(); err != nil {
		return fmt.Errorf("table %q: %w", t.title, err)
	}
	fmt.Fprintln(w)
	for _, n := range t.notes {
		fmt.Fprintln(w, n)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// modelLabel is a model's row label: its family and, when the family
// name is not the model's name, the model in parentheses.
func modelLabel(model string) string {
	f := Family(model)
	if f == model || strings.EqualFold(f, model) {
		return f
	}
	return f + " (" + model + ")"
}

// methodLabel is an entry's row label in the paper-layout tables: the
// method's own label, else its name.
func methodLabel(e *Entry) string {
	if e.Info.Label != "" {
		return e.Info.Label
	}
	return e.Method
}

// sleepEntries returns, for model, the entry of each method playing the
// sleep role, with the entries of its baseline and its compute-matched
// control (nil where absent).
func (s *Summary) sleepEntries(model string) (sleep, baseline, control []*Entry) {
	for i := range s.Entries {
		e := &s.Entries[i]
		if e.Model != model || e.Info.Role != RoleSleep {
			continue
		}
		sleep = append(sleep, e)
		baseline = append(baseline, s.Find(model, e.Info.Baseline))
		control = append(control, s.Find(model, e.Info.Control))
	}
	return sleep, baseline, control
}

// cell formats the Stat of e picked by get, "—" when e is nil.
func cell(e *Entry, get func(*Entry) Stat, sign bool) string {
	if e == nil {
		return "—"
	}
	return get(e).Cell(sign)
}

// cellPrec is cell with prec decimals, unsigned.
func cellPrec(e *Entry, get func(*Entry) Stat, prec int) string {
	if e == nil {
		return "—"
	}
	return get(e).CellPrec(false, prec)
}

// RetentionTable writes table 1, the paper's retention table, from the
// dormancy runs: one row per model (BERT, GPT-2, Custom, then others);
// retention of no-sleep (naive), sleep (aisp) and compute-matched replay
// (replay-matched), the paper's improvement of sleep over no-sleep, and
// of sleep over compute-matched replay.
func RetentionTable(w io.Writer, s *Summary, format string) error {
	t := &table{
		title: "Table 1. Retention after the dormancy period (%)",
		header: []string{"model", "no sleep (baseline)", "sleep (AISP)", "improvement",
			"compute-matched replay", "sleep vs matched",
			"perplexity ratio: no sleep / sleep / matched", "last day, sleep: accuracy, loss", "paper claims"},
		empty: "No dormancy runs.",
		notes: []string{
			"Retention = accuracy on the base task at the last day ÷ at day 0 × 100. Improvement = (sleep − no sleep) ÷ no sleep × 100, per seed, then averaged.",
			"Day 0 is scored after the base task's wake training and before any sleep, the same point for every method. Perplexity ratio = perplexity at day 0 ÷ at the last day × 100 (100 = nothing lost).",
			"Cells: mean ± 95% interval (n = runs). The paper's claims are unverified; they are shown, not used.",
		},
	}
	for _, m := range s.Models() {
		sleeps, baselines, controls := s.sleepEntries(m)
		for i, aisp := range sleeps {
			naive, matched := baselines[i], controls[i]
			if aisp.Retention.N == 0 && aisp.Retention.Undefined == 0 {
				continue
			}
			label := modelLabel(m)
			if len(sleeps) > 1 {
				label += " " + aisp.Method
			}
			t.rows = append(t.rows, []string{
				label,
				cell(naive, func(e *Entry) Stat { return e.Retention }, false),
				cell(aisp, func(e *Entry) Stat { return e.Retention }, false),
				cell(aisp, func(e *Entry) Stat { return e.Improvement }, true),
				cell(matched, func(e *Entry) Stat { return e.Retention }, false),
				cell(aisp, func(e *Entry) Stat { return e.VsMatched }, true),
				cell(naive, func(e *Entry) Stat { return e.RetentionLoss }, false) + " / " +
					cell(aisp, func(e *Entry) Stat { return e.RetentionLoss }, false) + " / " +
					cell(matched, func(e *Entry) Stat { return e.RetentionLoss }, false),
				cell(aisp, func(e *Entry) Stat { return e.LastDayAcc }, false) + ", " +
					cellPrec(aisp, func(e *Entry) Stat { return e.LastDayLoss }, 3),
				fmt.Sprintf("improvement %+.0f%% (all models)", ClaimRetentionImprovement),
			})
		}
	}
	return t.write(w, format)
}

// lastTaskNumber is the number of tasks when every sequence task order
// of s has the same length, else 0.
func lastTaskNumber(s *Summary) int {
	n := 0
	for _, o := range s.Tasks[ProtocolSequence] {
		if n != 0 && len(o) != n {
			return 0
		}
		n = len(o)
	}
	return n
}

// ForgettingTable writes table 2, the paper's forgetting table, from the
// sequence runs: per model, rows baseline (naive), EWC, replay, AISP, then
// ablations and controls; relative forgetting of task 1, of the last
// task and the average over tasks, read at the next-day row.
func ForgettingTable(w io.Writer, s *Summary, format string) error {
	last := "last task"
	if n := lastTaskNumber(s); n > 0 {
		last = fmt.Sprintf("task %d (last)", n)
	}
	t := &table{
		title:  "Table 2. Relative forgetting after the next-day period (%)",
		header: []string{"model", "method", "task 1", last, "average", "undefined (run×task)", "average in loss (nats)", "paper claims (average)"},
		empty:  "No sequence runs.",
		notes: []string{
			"Relative forgetting = (peak − final) ÷ (peak − before training) × 100, read at the last row (the next-day row when recorded): 0 = nothing lost, 100 = back to the untrained level.",
			fmt.Sprintf("Undefined (n/a) where a task's accuracy never rose %.0f point(s) above its initial level, or for the last task when no next-day row was recorded; such values are left out of the averages and counted.", MinRelGain*100),
			"Average in loss = mean over tasks of the rise of the held-out loss (nats per token) from its lowest once learned to the last row; positive = forgotten.",
			"Cells: mean ± 95% interval (n = runs). The paper's claims are unverified; they are shown, not used.",
		},
	}
	for _, e := range s.Entries {
		if e.RelAvg.N == 0 && e.RelAvg.Undefined == 0 {
			continue
		}
		claim := "—"
		if v, ok := ClaimForgettingAverage(e.Info.Role); ok {
			claim = fmt.Sprintf("%.0f%%", v)
		}
		t.rows = append(t.rows, []string{
			modelLabel(e.Model), methodLabel(&e),
			e.RelFirst.Cell(false), e.RelLast.Cell(false), e.RelAvg.Cell(false),
			fmt.Sprint(e.RelExcluded), e.LossAvg.CellPrec(false, 3), claim,
		})
	}
	return t.write(w, format)
}

// StandardTable writes table 3, the standard continual-learning metrics
// per model and method from the sequence runs: ACC, F (Chaudhry), BWT
// and FWT, in percentage points.
func StandardTable(w io.Writer, s *Summary, format string) error {
	t := &table{
		title:  "Table 3. Continual-learning metrics (percentage points)",
		header: []string{"model", "method", "ACC", "F", "BWT", "FWT", "F (nats)", "BWT (nats)"},
		empty:  "No sequence runs.",
		notes: []string{
			"ACC, BWT, FWT and F (Chaudhry et al. 2018) over rows 0..T of the accuracy matrix (the next-day row is not used). Cells: mean ± 95% interval (n = runs).",
			"F and BWT (nats): the same on held-out loss, in nats per token; F > 0 and BWT < 0 are forgetting.",
		},
	}
	for _, e := range s.Entries {
		if e.ACC.N == 0 && e.ACC.Undefined == 0 {
			continue
		}
		t.rows = append(t.rows, []string{
			modelLabel(e.Model), e.Method,
			e.ACC.Cell(false), e.F.Cell(false), e.BWT.Cell(true), e.FWT.Cell(true),
			e.FLoss.CellPrec(false, 3), e.BWTLoss.CellPrec(true, 3),
		})
	}
	return t.write(w, format)
}

// CompressionTable writes table 4: mean accuracy over tasks before and
// after pruning 30% and INT4 quantisation, and the drops, per model and
// method.
func CompressionTable(w io.Writer, s *Summary, format string) error {
	t := &table{
		title: "Table 4. Compression robustness (accuracy, percentage points)",
		header: []string{"model", "method", "before", "prune 30%", "INT4", "drop (prune 30%)", "drop (INT4)",
			"drop (prune 30%, with embeddings)", "drop (INT4, with embeddings)", "share of weights: matrices / with embeddings (%)"},
		empty: "No compression results.",
		notes: []string{
			"Mean accuracy over tasks of the final model; drop = before − after. Cells: mean ± 95% interval (n = runs).",
			"Prune 30% and INT4 change the weight matrices only; the 'with embeddings' columns also change the embedding tables (a decoder's tied LM head included). The share column says what fraction of all parameters each variant touches: pruning 30% of the matrices zeroes 0.3 × that share of the model.",
		},
	}
	for _, e := range s.Entries {
		if e.CompBefore.N == 0 && e.CompBefore.Undefined == 0 {
			continue
		}
		t.rows = append(t.rows, []string{
			modelLabel(e.Model), e.Method,
			e.CompBefore.Cell(false), e.CompPrune30.Cell(false), e.CompINT4.Cell(false),
			e.DropPrune30.Cell(true), e.DropINT4.Cell(true),
			e.DropPruneAll.Cell(true), e.DropINT4All.Cell(true),
			e.ShareMatrix.Cell(false) + " / " + e.ShareAll.Cell(false),
		})
	}
	return t.write(w, format)
}

// WriteTables writes the four tables of s in Markdown to path (normally
// OUT/tables.md), atomically, creating missing folders.
func WriteTables(path string, s *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# sleepbench results (profile %s)\n\n", s.Profile)
	if err := Render(&b, s, FormatMarkdown); err != nil {
		return fmt.Errorf("rendering %s: %w", path, err)
	}
	return WriteAtomic(path, func(f *os.File) error {
		_, err := f.WriteString(b.String())
		return err
	})
}

// PairedTable writes table 5: each method against its baseline, its
// compute-matched control and its parent on the ladder, as the mean of
// the per-run paired differences (same model, seed and task order) with
// its 95% interval.
func PairedTable(w io.Writer, s *Summary, format string) error {
	t := &table{
		title:  "Table 5. Paired differences, method − the method it is compared with",
		header: []string{"model", "method", "compared with", "why", "measure", "difference"},
		empty:  "No paired runs.",
		notes: []string{
			"Each difference is taken run by run between runs of the same model, seed and task order, then averaged: mean ± 95% interval (n = pairs).",
			"why: baseline (the method's gains), control (the compute-matched control: what the method adds beyond extra steps), ladder (the method one setting below it).",
			"Forgetting: lower is better, so a negative difference means the method forgets less. Retention: higher is better.",
		},
	}
	for _, c := range s.Comparisons {
		m := lookupPaired(c.Metric)
		t.rows = append(t.rows, []string{
			modelLabel(c.Model), c.A, c.B, c.Kind, m.label + " (" + m.unit + ")", c.Diff.CellPrec(true, m.prec),
		})
	}
	return t.write(w, format)
}

// VerdictTable writes table 6: each of the paper's claims that the runs
// can test, per model, with its paired difference, the size the paper
// claims, and the verdict (Judge).
func VerdictTable(w io.Writer, s *Summary, format string) error {
	t := &table{
		title:  "Table 6. The paper's claims, tested",
		header: []string{"model", "claim", "measure", "paired difference", "paper's size", "verdict"},
		empty:  "No run tests a claim of the paper.",
		notes: []string{
			"Verdict from the 95% interval of the paired difference: supported when it lies wholly on the side of 0 the claim names, contradicted when it lies wholly on the other side, inconclusive when it contains 0 or fewer than 2 pairs were measured (docs/METRICS.md).",
			"The paper's size is what its own numbers imply for the difference (e.g. 47% − 66% = −19 points); it is the paper's claim, not a measurement.",
		},
	}
	for _, v := range s.Verdicts {
		measure, prec := "retention improvement (%), "+v.A+" over "+v.B, 1
		if v.Metric != "retention_improvement" {
			m := lookupPaired(v.Metric)
			measure, prec = m.label+" ("+m.unit+"), "+v.A+" − "+v.B, m.prec
		}
		t.rows = append(t.rows, []string{
			modelLabel(v.Model), v.Claim, measure, v.Diff.CellPrec(true, prec), SizeCell(v.Diff, v.Size), v.Verdict,
		})
	}
	return t.write(w, format)
}

// LearnedTable writes table 3b: for the baseline of each model (the
// method playing the baseline role), the accuracy gain on each task right
// after training it over the model before any training, R[j][j] − R[0][j]
// in points, and the fall of its held-out loss, L[0][j] − L[j][j] in
// nats (where the runs recorded losses): whether each model learned each
// domain.
func LearnedTable(w io.Writer, s *Summary, format string) error {
	n := 0
	for _, e := range s.Entries {
		n = max(n, len(e.Learned), len(e.LearnedLoss))
	}
	header := []string{"model", "method", "measure"}
	for j := 1; j <= n; j++ {
		header = append(header, fmt.Sprintf("task %d", j))
	}
	t := &table{
		title:  "Table 3b. What each model learned: right after each task − before training",
		header: header,
		empty:  "No baseline sequence runs.",
		notes: []string{
			"Baseline runs only. Before training is the model the runs start from (the base checkpoint with init=base). Accuracy gain in points; loss fall in nats per target (before − after, so positive is learning). Cells: mean ± 95% interval (n = runs); an interval that excludes 0 means the task was learned.",
		},
	}
	for _, e := range s.Entries {
		if e.Info.Role != RoleBaseline || len(e.Learned) == 0 {
			continue
		}
		for _, m := range []struct {
			label string
			cells []Stat
			prec  int
		}{{"accuracy gain (points)", e.Learned, 1}, {"loss fall (nats)", e.LearnedLoss, 3}} {
			if len(m.cells) == 0 {
				continue
			}
			row := []string{modelLabel(e.Model), e.Method, m.label}
			for j := 0; j < n; j++ {
				c := "—"
				if j < len(m.cells) {
					c = m.cells[j].CellPrec(true, m.prec)
				}
				row = append(row, c)
			}
			t.rows = append(t.rows, row)
		}
	}
	return t.write(w, format)
}
