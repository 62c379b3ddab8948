package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sleepbench/sleepbench/results"
)

func init() {
	commands["tables"] = command{"re-render the tables and scores.json from the run files under OUT (no training)", runTables}
}

// runTables reads every run file under OUT, writes OUT/scores.json,
// OUT/tables.md and OUT/scores.arrow, and prints the tables.
func runTables(args []string) error {
	fs := flag.NewFlagSet("tables", flag.ContinueOnError)
	format := fs.String("format", results.FormatText, "table format on standard output: text or markdown")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: sleepbench tables OUT [-format text|markdown]

Reads the run files under OUT (no training), writes OUT/scores.json (the
summary compare reads), OUT/tables.md and OUT/scores.arrow, and prints the
retention, forgetting, continual-learning and compression tables.

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want one output folder, have %d arguments", len(pos))
	}
	if err := results.CheckFormat(*format); err != nil {
		return fmt.Errorf("flag -format: %w", err)
	}
	out := pos[0]
	s, runs, err := summariseFolder(out)
	if err != nil {
		return err
	}
	if err := results.SaveSummary(filepath.Join(out, results.SummaryFile), s); err != nil {
		return err
	}
	if err := results.WriteTables(filepath.Join(out, results.TablesFile), s); err != nil {
		return err
	}
	if err := results.WriteArrow(filepath.Join(out, results.ArrowFile), runs); err != nil {
		return err
	}
	return results.Render(os.Stdout, s, *format)
}

// summariseFolder loads the run files under dir and summarises them; no
// run file is an error.
func summariseFolder(dir string) (*results.Summary, []*results.Run, error) {
	runs, err := results.LoadRuns(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(runs) == 0 {
		return nil, nil, fmt.Errorf("no run files under %s", dir)
	}
	return results.Summarise(runs), runs, nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("tables OUT -format markdown"), which the flag
// package alone stops at, and returns the positional arguments. A "--"
// ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" after consuming it, or at a non-flag.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
