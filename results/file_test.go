package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSaveLoadRun(t *testing.T) {
	dir := t.TempDir()
	r := seqRun("custom", "ewc", 7, threeTasks)
	r.Loss = [][]float64{{5, 5, 5}, {2, 5, 5}, {3, 2, 5}, {3, 3, 2}, {4, 4, 4}}
	r.Steps, r.Tokens, r.WallSeconds, r.PeakMemBytes = 100, 12800, 1.5, 1<<20
	path := filepath.Join(dir, "a", "b", "custom-ewc-7.json") // folders created
	if err := SaveRun(path, r); err != nil {
		t.Fatal(err)
	}
	got, err := LoadRun(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// No temporary file is left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("folder holds %d files, want 1", len(ents))
	}
}

func TestLoadRunRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ name, body, want string }{
		{"v2.json", `{"schema_version":"2","protocol":"sequence"}`, `schema_version "2"`},
		{"noversion.json", `{"protocol":"sequence"}`, "no schema_version"},
		{"corrupt.json", `{"schema_version":"1", "R": [[0.1`, "malformed JSON"},
		{"unknown.json", `{"schema_version":"1","protocol":"dormancy","model":"m","method":"x","days":[0.5,0.4],"colour":1}`, "unknown field"},
		{"percent.json", `{"schema_version":"1","protocol":"sequence","model":"m","method":"x","tasks":["a"],"R":[[10],[80]]}`, "fraction in [0, 1]"},
		{"shape.json", `{"schema_version":"1","protocol":"sequence","model":"m","method":"x","tasks":["a","b"],"R":[[0.1,0.1],[0.5,0.1]]}`, "R has 2 rows, want 3"},
		{"nextday.json", `{"schema_version":"1","protocol":"sequence","model":"m","method":"x","tasks":["a"],"R":[[0.1],[0.5],[0.4]]}`, "next_day=false"},
		{"norows.json", `{"schema_version":"1","protocol":"sequence","model":"m","method":"x"}`, "no accuracy matrix"},
		{"noname.json", `{"schema_version":"1","protocol":"sequence","method":"x"}`, "model is empty"},
		{"comp.json", `{"schema_version":"1","protocol":"compression","model":"m","method":"x","compression":{"int4":[0.5]}}`, `no "none" entry`},
	}
	for _, c := range cases {
		p := write(c.name, c.body)
		_, err := LoadRun(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v; want one naming the file and containing %q", c.name, err, c.want)
		}
	}
	if _, err := LoadRun(filepath.Join(dir, "absent.json")); err == nil || !strings.Contains(err.Error(), "absent.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSaveRunValidates(t *testing.T) {
	r := seqRun("custom", "naive", 1, threeTasks[:3]) // 2 rows too few for 3 tasks
	if err := SaveRun(filepath.Join(t.TempDir(), "x.json"), r); err == nil {
		t.Error("SaveRun wrote a malformed run")
	}
}

func TestLoadRuns(t *testing.T) {
	dir := t.TempDir()
	runs := fixtureRuns()
	for i, r := range runs {
		sub := "seq"
		if r.Protocol == ProtocolDormancy {
			sub = "dorm"
		}
		if err := SaveRun(filepath.Join(dir, sub, r.Model, r.Method+"-"+string(rune('a'+i))+".json"), r); err != nil {
			t.Fatal(err)
		}
	}
	// Files that are not runs: skipped.
	for _, name := range []string{SummaryFile, "config.json", "seq/profile.json", "quick.config.json", ".x.json.tmp1", "notes.txt", "plots/p.json", ".cache/c.json"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("not a run"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := LoadRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(runs) {
		t.Fatalf("loaded %d runs, want %d", len(got), len(runs))
	}
	// A broken run file is an error naming it.
	bad := filepath.Join(dir, "seq", "broken.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if _, err := LoadRuns(dir); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("broken run file: %v", err)
	}
	if _, err := LoadRuns(filepath.Join(dir, "absent")); err == nil {
		t.Error("missing folder accepted")
	}
}

func TestIsRunFile(t *testing.T) {
	for name, want := range map[string]bool{
		"custom-ewc-1.json": true, "scores.json": false, "config.json": false,
		"quick.config.json": false, ".tmp.json": false, "_meta.json": false, "run.txt": false,
	} {
		if IsRunFile(name) != want {
			t.Errorf("IsRunFile(%q) = %t", name, !want)
		}
	}
}

func TestSummaryFile(t *testing.T) {
	dir := t.TempDir()
	s := Summarise(fixtureRuns())
	path := filepath.Join(dir, "ref", SummaryFile)
	if err := SaveSummary(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s, got, cmp.Comparer(sameStat)); d != "" {
		t.Errorf("summary round trip (-want +got):\n%s", d)
	}
	for body, want := range map[string]string{
		`{"schema_version":"0","entries":[]}`: `schema_version "0"`,
		`{"schema_version":"1","entries":[`:   "malformed JSON",
		`[1,2]`:                               "malformed JSON",
		`{"schema_version":"1","entries":[{"model":"","method":"x"}]}`: "entry 0",
	} {
		p := filepath.Join(dir, "bad.json")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := LoadSummary(p); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v; want %q naming the file", body, err, want)
		}
	}
}

func sameStat(a, b Stat) bool {
	same := func(x, y float64) bool { return x == y || x != x && y != y }
	return same(a.Mean, b.Mean) && same(a.CI, b.CI) && a.N == b.N && a.Undefined == b.Undefined
}
