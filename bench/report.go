package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

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

// writeFile writes data to path atomically (see writeJSON).
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp's 0600 would survive the rename
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
