package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/bench"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/results"
)

// writeCompareRuns writes a small run folder by hand: custom × naive/ewc on the
// sequence protocol, two seeds; lower shifts the next-day row of ewc down
// (more forgetting).
func writeCompareRuns(t *testing.T, dir string, lower float64) {
	t.Helper()
	for _, method := range []string{"naive", "ewc"} {
		for _, seed := range []uint64{1, 2} {
			R := [][]float64{
				{0.10, 0.20, 0.30},
				{0.80, 0.25, 0.35},
				{0.60, 0.90, 0.40},
				{0.50, 0.70, 0.85},
				{0.40, 0.60, 0.55},
			}
			for j := range R[4] {
				R[4][j] -= 0.01 * float64(seed)
				if method == "ewc" {
					R[4][j] -= lower
				}
			}
			r := &results.Run{
				SchemaVersion: results.SchemaVersion, Profile: "quick", Protocol: results.ProtocolSequence,
				Model: "custom", Method: method, Seed: seed, Tasks: []string{"speech", "scripture", "email"},
				R: R, NextDay: true,
			}
			if info, err := methods.Default.Lookup(method); err == nil {
				r.MethodInfo = bench.RecordInfo(info)
			}
			path := filepath.Join(dir, "runs", "sequence", "custom", method, "seed"+string(rune('0'+seed))+".json")
			if err := results.SaveRun(path, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"profile":"quick"}`), 0o644); err != nil {
		t.Fatal(err)
	}
}

// muteOutput sends standard output and error to a file for the duration of the test.
func muteOutput(t *testing.T) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = f, f
	t.Cleanup(func() { os.Stdout, os.Stderr = stdout, stderr; f.Close() })
}

func TestTablesAndCompareCommands(t *testing.T) {
	muteOutput(t)
	ref, cur := t.TempDir(), t.TempDir()
	writeCompareRuns(t, ref, 0)
	if err := runTables([]string{ref, "-format", "markdown"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{results.SummaryFile, results.TablesFile, results.ArrowFile} {
		if st, err := os.Stat(filepath.Join(ref, f)); err != nil || st.Size() == 0 {
			t.Errorf("tables did not write %s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(ref, results.TablesFile))
	if !strings.Contains(string(md), "| Custom | EWC ") || !strings.Contains(string(md), "47%") {
		t.Errorf("tables.md lacks the EWC row with its claim:\n%s", md)
	}
	refFile := filepath.Join(ref, results.SummaryFile)

	// Identical runs pass, from a folder and from a scores.json.
	writeCompareRuns(t, cur, 0)
	if err := runCompare([]string{"--reference", refFile, "--current", cur}); err != nil {
		t.Errorf("identical folder: %v", err)
	}
	if err := runCompare([]string{"--reference", refFile, "--current", refFile, "-format", "markdown"}); err != nil {
		t.Errorf("identical file: %v", err)
	}

	// Less forgetting passes; more forgetting fails.
	writeCompareRuns(t, cur, -0.05)
	if err := runCompare([]string{"--reference", refFile, "--current", cur}); err != nil {
		t.Errorf("improvement: %v", err)
	}
	writeCompareRuns(t, cur, 0.05)
	err := runCompare([]string{"--reference", refFile, "--current", cur})
	if err == nil || !strings.Contains(err.Error(), "3 regression(s)") {
		t.Errorf("regression: %v", err)
	}
	if err := runCompare([]string{"--reference", refFile, "--current", cur, "--tolerance", "forgetting=20"}); err != nil {
		t.Errorf("regression within a wide tolerance: %v", err)
	}
}

func TestCompareCommandErrors(t *testing.T) {
	muteOutput(t)
	dir := t.TempDir()
	writeCompareRuns(t, dir, 0)
	s, _, err := summariseFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir() // summaries outside the run folder
	refFile := filepath.Join(files, "ref.json")
	if err := results.SaveSummary(refFile, s); err != nil {
		t.Fatal(err)
	}
	other := *s
	other.Profile = "default"
	otherFile := filepath.Join(files, "other.json")
	results.SaveSummary(otherFile, &other)
	corrupt := filepath.Join(files, "corrupt.json")
	os.WriteFile(corrupt, []byte(`{"schema_version":"1","entries":[{"model":`), 0o644)
	v0 := filepath.Join(files, "v0.json")
	os.WriteFile(v0, []byte(`{"schema_version":"0","entries":[]}`), 0o644)

	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"missing reference": {[]string{"--reference", filepath.Join(dir, "absent.json"), "--current", dir}, "absent.json"},
		"missing current":   {[]string{"--reference", refFile, "--current", filepath.Join(dir, "absent")}, "absent"},
		"corrupt":           {[]string{"--reference", corrupt, "--current", dir}, "corrupt.json: malformed JSON"},
		"schema":            {[]string{"--reference", v0, "--current", dir}, `v0.json: schema_version "0"`},
		"profile":           {[]string{"--reference", otherFile, "--current", dir}, `profile differs: reference "default", current "quick"`},
		"tolerance":         {[]string{"--reference", refFile, "--current", dir, "--tolerance", "speed=1"}, "flag --tolerance"},
		"format":            {[]string{"--reference", refFile, "--current", dir, "-format", "html"}, "flag -format"},
		"no flags":          {nil, "required"},
		"empty folder":      {[]string{"--reference", refFile, "--current", t.TempDir()}, "no run files"},
	} {
		err := runCompare(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
}

func TestPlotCommand(t *testing.T) {
	muteOutput(t)
	dir := t.TempDir()
	writeCompareRuns(t, dir, 0)
	if err := runPlot([]string{dir}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, results.PlotsDir, "*.png"))
	if len(files) != 4 { // heatmap and forgetting curves for naive and ewc
		t.Errorf("plots %v, want 4", files)
	}
	if err := runPlot(nil); err == nil {
		t.Error("plot without a folder accepted")
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args   []string
		format string
		pos    string
	}{
		{[]string{"OUT"}, "text", "OUT"},
		{[]string{"OUT", "-format", "markdown"}, "markdown", "OUT"},
		{[]string{"-format=markdown", "OUT"}, "markdown", "OUT"},
		{[]string{"-format", "markdown", "--", "-odd"}, "markdown", "-odd"},
	} {
		fs := newTestFlags()
		format := fs.String("format", "text", "")
		pos, err := parseInterspersed(fs, c.args)
		if err != nil || *format != c.format || len(pos) != 1 || pos[0] != c.pos {
			t.Errorf("%q: format %q pos %q err %v", c.args, *format, pos, err)
		}
	}
}

func newTestFlags() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }
