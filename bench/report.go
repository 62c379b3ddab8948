package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sleepbench/sleepbench/results"
)

// WriteReports reads every run file under out and writes, beside them,
// the summary (scores.json), the four tables in Markdown (tables.md), the
// long-format scores (scores.arrow) and the plots (plots/*.png), with
// package results. The runner calls it after the last run; `sleepbench
// tables` renders the same tables again without training.
func WriteReports(out string) error {
	runs, err := results.LoadRuns(out)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("no run files under %s", out)
	}
	s := results.Summarise(runs)
	if err := results.SaveSummary(filepath.Join(out, results.SummaryFile), s); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := results.Render(&md, s, results.FormatMarkdown); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, results.TablesFile), md.Bytes()); err != nil {
		return err
	}
	if err := results.WriteArrow(filepath.Join(out, results.ArrowFile), runs); err != nil {
		return err
	}
	if _, err := results.Plots(filepath.Join(out, results.PlotsDir), runs); err != nil {
		return err
	}
	return nil
}

// removeReportTemps deletes the temporary files that an earlier process,
// killed while writing the reports (tables, scores, plots) or config.json
// of out, left there: those older than before, the start of this
// process (results.RemoveStaleTemps).
func removeReportTemps(out string, before time.Time) error {
	for _, dir := range []string{out, filepath.Join(out, results.PlotsDir)} {
		if err := results.RemoveStaleTemps(dir, before); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes data to path atomically (results.WriteAtomic).
func writeFile(path string, data []byte) error {
	return results.WriteAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}
