package main

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/sleepbench/sleepbench/results"
)

func init() {
	commands["plot"] = command{"write PNG plots (heatmaps, forgetting curves, retention) of the runs under OUT", runPlot}
}

// runPlot writes the plots of the run files under OUT into OUT/plots.
func runPlot(args []string) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: sleepbench plot OUT

Reads the run files under OUT and writes PNG plots under OUT/plots:
heatmap-MODEL-METHOD.png (accuracy matrix, mean over runs),
forgetting-MODEL-METHOD.png (accuracy per task over the sequence) and
retention-MODEL.png (dormancy: accuracy over the days per method).`)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want one output folder, have %d arguments", len(pos))
	}
	out := pos[0]
	runs, err := results.LoadRuns(out)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("no run files under %s", out)
	}
	files, err := results.Plots(filepath.Join(out, results.PlotsDir), runs)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Println(f)
	}
	if len(files) == 0 {
		fmt.Printf("no sequence or dormancy runs under %s: nothing to plot\n", out)
	}
	return nil
}
