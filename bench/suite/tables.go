package suite

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/sleepbench/sleepbench/results"
)

// tables builds one table per scenario.
func (p *suitePlan) tables(jobs []suiteJob, runs []*results.Run) ([]*table, error) {
	var out []*table
	for _, sc := range p.scenarios {
		t := &table{
			title:  fmt.Sprintf("%s (%s)", sc.title, sc.protocol),
			header: []string{"method", "measured ACC % (mean ± 95% CI, n)", "published % (± sd, runs)", "Δ (points)", "within 2 points?"},
		}
		recalled := false
		var ran []suiteMethod
		for _, m := range p.methods {
			if !p.applies(sc, m) {
				continue
			}
			ran = append(ran, m)
			var accs []float64
			for i, j := range jobs {
				if j.sc.protocol != sc.protocol || j.m.name != m.name {
					continue
				}
				a, err := results.ACC(runs[i].R)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", j.name(), err)
				}
				accs = append(accs, 100*a)
			}
			st := results.Aggregate(accs)
			measured := fmt.Sprintf("%.2f ± %.2f (%d)", st.Mean, st.CI, st.N)
			if st.N < 2 {
				measured = fmt.Sprintf("%.2f (%d)", st.Mean, st.N)
			}
			pub, delta, within := "—", "—", "no published number"
			if pr, ok := LookupPublished(sc.protocol, m.name); ok {
				pub = fmt.Sprintf("%.2f", pr.Mean)
				if !math.IsNaN(pr.Spread) {
					pub += fmt.Sprintf(" ± %.2f", pr.Spread)
				}
				if pr.Runs > 0 {
					pub += fmt.Sprintf(" (%d)", pr.Runs)
				}
				if pr.Checked == Recalled {
					pub += " †"
					recalled = true
				}
				d := st.Mean - pr.Mean
				delta = fmt.Sprintf("%+.2f", d)
				within = "no"
				if math.Abs(d) <= 2 {
					within = "yes"
				}
				if pr.Checked == Recalled {
					within += ", not counted (†)"
				}
			}
			t.rows = append(t.rows, []string{m.name, measured, pub, delta, within})
		}
		setup := fmt.Sprintf("Setup: %s; MLP 1024-%s, %d epochs per task, batch %d, constant learning rate (SGD %g, Adam %g).",
			sc.setup, joinInts(sc.hidden, "-"), sc.epochs, sc.batch, sc.sgdLR, sc.adamLR)
		if sc.raw {
			var lrs []string
			for _, m := range ran {
				lrs = append(lrs, fmt.Sprintf("%s %g", m.name, p.lr(m, sc)))
			}
			batch := fmt.Sprintf("batch %d + %d memory rows", sc.batch, sc.batch)
			if sc.buffer == 0 {
				batch = fmt.Sprintf("batch %d", sc.batch)
			}
			setup = fmt.Sprintf("Setup: %s; MLP 784-%s, %d epoch per task, %s, plain SGD at the tuned learning rate (%s).",
				sc.setup, joinInts(sc.hidden, "-"), sc.epochs, batch, strings.Join(lrs, ", "))
			for _, m := range ran {
				if m.joint {
					setup += fmt.Sprintf(" joint: no step during the first %d tasks, then %d epoch over every task's training rows together in the last task's period.", p.taskCount(sc)-1, sc.epochs)
				}
			}
		}
		t.notes = append(t.notes, setup,
			"ACC = mean test accuracy over all tasks after the last task. Measured: mean ± half-width of the 95% Student-t interval over seeds. Published: mean ± standard deviation as printed.")
		if recalled {
			t.notes = append(t.notes, "† published number not checked against a retrieved copy of the table (see docs/REPRODUCIBILITY.md).")
		}
		def := splitScenarios()[0].epochs
		switch p.name {
		case PermutedMNIST:
			def = permutedScenarios()[0].epochs
		case BuzzegaMNIST:
			def = buzzegaScenarios()[0].epochs
		}
		if sc.tasks > 0 && p.taskCount(sc) != sc.tasks {
			t.notes = append(t.notes, fmt.Sprintf("Changed sequence: %d tasks instead of the published %d.", p.taskCount(sc), sc.tasks))
		}
		if sc.epochs != def {
			t.notes = append(t.notes, fmt.Sprintf("Changed budget: %d epochs per task instead of the published %d.", sc.epochs, def))
		}
		if p.opt.Init == initXavier {
			t.notes = append(t.notes, "Changed initialisation (-init xavier): weights uniform in ±√(6/(fan_in + fan_out)), biases 0, as Buzzega et al.'s code, instead of PyTorch's default nn.Linear.")
		}
		if p.masked(sc) {
			t.notes = append(t.notes, "Output mask (-mask-unseen): the training loss covers only the outputs of the classes seen so far (2, 4, 6, 8, 10 during tasks 1–5), as in Hsu et al.'s code; evaluation uses all 10.")
		}
		out = append(out, t)
	}
	return out, nil
}

func joinInts(xs []int, sep string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, sep)
}

// table is one printed table of a suite: a title, a header, rows and
// notes below.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func (t *table) write(w io.Writer, format string) error {
	return results.WriteTable(w, format, t.title, t.header, t.rows, t.notes)
}
