package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/sleepbench/sleepbench/results"
)

func init() {
	commands["compare"] = command{"compare scores with a reference; fail on a forgetting or accuracy regression (CI)", runCompare}
}

// runCompare compares the current scores with a reference summary and
// returns an error (a non-zero exit) on any regression beyond tolerance.
func runCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	ref := fs.String("reference", "", "reference summary `FILE` (e.g. results/reference/quick.json)")
	cur := fs.String("current", "", "current scores: an output `FOLDER` of run files, or a scores.json FILE")
	tolFlag := fs.String("tolerance", "", "tolerances in absolute points, `group=points,...` over the defaults "+defaultTolerances())
	format := fs.String("format", results.FormatText, "report format: text or markdown")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: sleepbench compare --reference FILE --current OUT|FILE [--tolerance forgetting=2,acc=1] [-format text|markdown]

Compares each model × method's metrics with the reference and prints a
table of reference / current / delta / status. Exits non-zero when a
forgetting metric or accuracy drop rises, or an accuracy, transfer,
retention or improvement falls, by more than its tolerance, or when a
model × method of the reference is missing. The two must come from the
same profile, seeds and task orders.

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q (use --reference and --current)", pos[0])
	}
	if *ref == "" || *cur == "" {
		fs.Usage()
		return fmt.Errorf("flags --reference and --current are both required")
	}
	if err := results.CheckFormat(*format); err != nil {
		return fmt.Errorf("flag -format: %w", err)
	}
	tol, err := results.ParseTolerance(*tolFlag)
	if err != nil {
		return fmt.Errorf("flag --tolerance: %w", err)
	}
	refSum, err := results.LoadSummary(*ref)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	curSum, err := loadCurrent(*cur)
	if err != nil {
		return fmt.Errorf("current: %w", err)
	}
	c, err := results.Compare(refSum, curSum, tol)
	if err != nil {
		return fmt.Errorf("cannot compare %s with reference %s: %w", *cur, *ref, err)
	}
	if err := c.Render(os.Stdout, *format); err != nil {
		return err
	}
	if c.Failed() {
		return fmt.Errorf("%d regression(s) against %s", len(c.Regressions), *ref)
	}
	return nil
}

// loadCurrent reads a summary file, or summarises the run files of a
// folder afresh (so that a stale scores.json in it is not used).
func loadCurrent(path string) (*results.Summary, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return results.LoadSummary(path)
	}
	s, _, err := summariseFolder(path)
	return s, err
}

func defaultTolerances() string {
	tol := results.DefaultTolerance()
	groups := make([]string, 0, len(tol))
	for g := range tol {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for i, g := range groups {
		groups[i] = fmt.Sprintf("%s=%g", g, tol[g])
	}
	return "(" + strings.Join(groups, ",") + ")"
}
