package results

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPlots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), PlotsDir)
	runs := fixtureRuns()
	// A second task order for custom/naive gets its own files.
	other := seqRun("custom", "naive", 1, threeTasks)
	other.Tasks = []string{"email", "speech", "scripture"}
	runs = append(runs, other)
	files, err := Plots(dir, runs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, want := range []string{
		"heatmap-custom-ewc.png", "forgetting-custom-ewc.png", "heatmap-gpt2-mini-replay-matched.png",
		"heatmap-custom-naive-order1.png", "heatmap-custom-naive-order2.png", "forgetting-custom-naive-order2.png",
		"retention-custom.png", "retention-gpt2-mini.png",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s among %v", want, names)
		}
	}
	// 2 models × 4 methods × 2 kinds, +2 for the second order, + 2 retention.
	if len(files) != 20 {
		t.Errorf("%d files, want 20: %v", len(files), names)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: not a PNG: %v", f, err)
			continue
		}
		if len(b) < 10_000 || cfg.Width < 300 || cfg.Height < 200 {
			t.Errorf("%s: %d bytes, %d×%d: too small to hold a plot", f, len(b), cfg.Width, cfg.Height)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: corrupt PNG: %v", f, err)
		}
	}
}

func TestPlotsNothing(t *testing.T) {
	files, err := Plots(t.TempDir(), nil)
	if err != nil || len(files) != 0 {
		t.Errorf("no runs: %v, %v", files, err)
	}
}
