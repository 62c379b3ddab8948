package results

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzLoadRun feeds arbitrary bytes to the run-file reader behind
// sleepbench tables and plot (go test -fuzz FuzzLoadRun ./results, or
// make fuzz). Beyond not panicking, it checks:
//   - every error names the file;
//   - an accepted run round-trips: SaveRun then LoadRun gives it back
//     unchanged;
//   - an accepted run summarises and renders as every table, in both
//     formats, without error.
func FuzzLoadRun(f *testing.F) {
	fuzzMinimize(f)
	dir := f.TempDir()
	for _, r := range fixtureRuns()[:3] {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	r := fixtureRuns()[0]
	r.Loss = [][]float64{{5, 5, 5}, {2, 5, 5}, {3, 2, 5}, {3, 3, 2}, {4, 4, 4}}
	b, err := json.Marshal(r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"schema_version": "0"}`))
	f.Add([]byte(`{}`))
	path := filepath.Join(dir, "fuzz-run.json")
	again := filepath.Join(dir, "again-run.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := LoadRun(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := SaveRun(again, r); err != nil {
			t.Fatalf("saving an accepted run: %v", err)
		}
		r2, err := LoadRun(again)
		if err != nil {
			t.Fatalf("reloading an accepted run: %v", err)
		}
		if d := cmp.Diff(r, r2, cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
		s := Summarise([]*Run{r})
		for _, format := range []string{"text", "markdown"} {
			if err := Render(io.Discard, s, format); err != nil {
				t.Fatalf("rendering the tables of an accepted run: %v", err)
			}
		}
	})
}

// FuzzLoadSummary feeds arbitrary bytes to the scores.json reader behind
// sleepbench compare (go test -fuzz FuzzLoadSummary ./results, or make
// fuzz). Beyond not panicking, it checks:
//   - every error names the file;
//   - an accepted summary round-trips through SaveSummary and LoadSummary
//     (an undefined statistic is NaN, written as null);
//   - an accepted summary compared with itself is compatible and has no
//     regression, and its tables render without error.
func FuzzLoadSummary(f *testing.F) {
	fuzzMinimize(f)
	dir := f.TempDir()
	ref, err := os.ReadFile(filepath.Join("reference", "quick.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ref)
	b, err := json.Marshal(Summarise(fixtureRuns()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"schema_version": "` + SchemaVersion + `", "entries": [{"model": "m"}]}`))
	path := filepath.Join(dir, "scores.json")
	again := filepath.Join(dir, "again.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSummary(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := SaveSummary(again, s); err != nil {
			t.Fatalf("saving an accepted summary: %v", err)
		}
		s2, err := LoadSummary(again)
		if err != nil {
			t.Fatalf("reloading an accepted summary: %v", err)
		}
		if d := cmp.Diff(s, s2, cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
		c, err := Compare(s, s2, DefaultTolerance())
		if err != nil {
			t.Fatalf("a summary compared with itself: %v", err)
		}
		if c.Failed() {
			t.Fatalf("a summary compared with itself has regressions: %v", c.Regressions)
		}
		for _, format := range []string{"text", "markdown"} {
			if err := Render(io.Discard, s, format); err != nil {
				t.Fatalf("rendering the tables of an accepted summary: %v", err)
			}
		}
	})
}

// fuzzMinimize bounds the fuzzing engine's minimisation of each new
// interesting input when -fuzzminimizetime is not given: Go's default,
// 60 s per input, makes a run look stalled (issue 18; datasets/main_test.go
// does the same for its package). Set before f.Fuzz, which reads it.
func fuzzMinimize(f *testing.F) {
	given := false
	flag.Visit(func(fl *flag.Flag) { given = given || fl.Name == "test.fuzzminimizetime" })
	if !given {
		if err := flag.Set("test.fuzzminimizetime", "200x"); err != nil {
			f.Fatal(err)
		}
	}
}
