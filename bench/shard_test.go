package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/results"
)

// env makes a lookup function from a map, as os.LookupEnv would read it.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestResolveShard(t *testing.T) {
	cases := []struct {
		name   string
		flag   string
		shards int
		env    map[string]string
		want   Shard
		err    string // a substring of the error; "" = no error
	}{
		{name: "nothing set runs everything", want: Shard{}},
		{name: "explicit", flag: "2/4", want: Shard{2, 4, "-shard"}},
		{name: "explicit wins over Slurm", flag: "1/3", env: map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, want: Shard{1, 3, "-shard"}},
		{name: "0/1 turns the environment off", flag: "0/1", env: map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, want: Shard{0, 1, "-shard"}},
		{name: "explicit agrees with -shards", flag: "1/3", shards: 3, want: Shard{1, 3, "-shard"}},
		{name: "explicit disagrees with -shards", flag: "1/3", shards: 4, err: "-shard 1/3 and -shards 4 disagree"},
		{name: "explicit out of range", flag: "4/4", err: `-shard "4/4": want i/n`},
		{name: "explicit malformed", flag: "a/b", err: `-shard "a/b"`},
		{name: "explicit without slash", flag: "3", err: `-shard "3"`},
		{name: "auto with nothing set", flag: "auto", err: "-shard auto: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, BATCH_TASK_INDEX is set"},
		{name: "-shards without an index", shards: 4, err: "-shards 4: no shard index"},
		{name: "negative -shards", shards: -1, err: "-shards -1"},

		// Slurm: --array=0-3 sets ID 0..3, MIN 0, COUNT 4.
		{name: "Slurm", env: map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, want: Shard{2, 4, "SLURM_ARRAY_TASK_ID"}},
		{name: "Slurm auto", flag: "auto", env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, want: Shard{3, 4, "SLURM_ARRAY_TASK_ID"}},
		// --array=1-4: IDs 1..4 → shards 0..3 (4 − 1 = 3).
		{name: "Slurm from 1", env: map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, want: Shard{3, 4, "SLURM_ARRAY_TASK_ID"}},
		// --array=10-16:2: IDs 10,12,14,16, COUNT 4; ID 14 → (14 − 10)/2 = 2.
		{name: "Slurm with a step", env: map[string]string{"SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, want: Shard{2, 4, "SLURM_ARRAY_TASK_ID"}},
		// --array=1,3,8: COUNT 3, MIN 1; ID 8 → 7, outside 3 shards.
		{name: "Slurm uneven list", env: map[string]string{"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"}, err: "SLURM_ARRAY_TASK_ID=8 gives shard 7, outside the 3 shards (SLURM_ARRAY_TASK_COUNT)"},
		{name: "Slurm ID off the step", env: map[string]string{"SLURM_ARRAY_TASK_ID": "13", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, err: "not evenly spaced"},
		{name: "Slurm ID below MIN", env: map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, err: "not evenly spaced"},
		{name: "Slurm without COUNT", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0"}, err: "SLURM_ARRAY_TASK_ID=1 (Slurm) but the number of shards is unknown: SLURM_ARRAY_TASK_COUNT is not set"},
		{name: "Slurm without COUNT, -shards given", shards: 4, env: map[string]string{"SLURM_ARRAY_TASK_ID": "1"}, want: Shard{1, 4, "SLURM_ARRAY_TASK_ID"}},
		{name: "Slurm COUNT disagrees with -shards", shards: 8, env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, err: "SLURM_ARRAY_TASK_COUNT=4 but -shards 8"},
		{name: "Slurm ID not a number", env: map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"}, err: `SLURM_ARRAY_TASK_ID="x": want an integer ≥ 0`},
		{name: "Slurm COUNT zero", env: map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "0"}, err: `SLURM_ARRAY_TASK_COUNT="0": want an integer ≥ 1`},
		{name: "Slurm STEP zero", env: map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, err: `SLURM_ARRAY_TASK_STEP="0"`},

		// Kubernetes sets only the index; the count is -shards.
		{name: "Kubernetes", shards: 4, env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, want: Shard{3, 4, "JOB_COMPLETION_INDEX"}},
		{name: "Kubernetes auto", flag: "auto", shards: 2, env: map[string]string{"JOB_COMPLETION_INDEX": "0"}, want: Shard{0, 2, "JOB_COMPLETION_INDEX"}},
		{name: "Kubernetes without -shards", env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, err: "JOB_COMPLETION_INDEX=3 (Kubernetes Indexed Job) but the number of shards is unknown: sets no count variable; give it with -shards N"},
		{name: "Kubernetes index too big", shards: 4, env: map[string]string{"JOB_COMPLETION_INDEX": "4"}, err: "JOB_COMPLETION_INDEX=4 gives shard 4, outside the 4 shards (-shards)"},
		{name: "Kubernetes negative index", shards: 4, env: map[string]string{"JOB_COMPLETION_INDEX": "-1"}, err: `JOB_COMPLETION_INDEX="-1"`},

		{name: "AWS Batch", env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "5", "AWS_BATCH_JOB_ARRAY_SIZE": "8"}, want: Shard{5, 8, "AWS_BATCH_JOB_ARRAY_INDEX"}},
		{name: "AWS Batch without size", env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "5"}, err: "AWS_BATCH_JOB_ARRAY_SIZE is not set"},
		{name: "AWS Batch size from -shards", shards: 8, env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "5"}, want: Shard{5, 8, "AWS_BATCH_JOB_ARRAY_INDEX"}},
		{name: "AWS Batch index ≥ size", env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "8", "AWS_BATCH_JOB_ARRAY_SIZE": "8"}, err: "outside the 8 shards"},

		{name: "Google Batch", env: map[string]string{"BATCH_TASK_INDEX": "0", "BATCH_TASK_COUNT": "2"}, want: Shard{0, 2, "BATCH_TASK_INDEX"}},
		{name: "Google Batch without count", env: map[string]string{"BATCH_TASK_INDEX": "1"}, err: "BATCH_TASK_COUNT is not set"},
		{name: "Google Batch count not a number", env: map[string]string{"BATCH_TASK_INDEX": "1", "BATCH_TASK_COUNT": "two"}, err: `BATCH_TASK_COUNT="two"`},

		{name: "two schedulers", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "BATCH_TASK_INDEX": "1", "BATCH_TASK_COUNT": "4"}, err: "both SLURM_ARRAY_TASK_ID and BATCH_TASK_INDEX are set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveShard(tc.flag, tc.shards, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// ShardOf is FNV-1a 64 of the name, modulo n: the hash of "" is the
// offset basis 0xcbf29ce484222325 = 14695981039346656037, and
// 14695981039346656037 mod 4 = 1 (…037: 37 mod 4 = 1; 100 ≡ 0 mod 4).
func TestShardOfHash(t *testing.T) {
	if got := ShardOf("", 4); got != 1 {
		t.Errorf("ShardOf(\"\", 4) = %d, want 1", got)
	}
	// "a": (basis XOR 0x61) × prime 0x100000001b3 mod 2^64 =
	// 0xaf63dc4c8601ec8c (the published FNV-1a 64 test vector); its low
	// hex digit c = 12, and 12 mod 4 = 0.
	if got := ShardOf("a", 4); got != 0 {
		t.Errorf("ShardOf(\"a\", 4) = %d, want 0", got)
	}
	if got := ShardOf("anything", 1); got != 0 {
		t.Errorf("one shard: %d", got)
	}
}

// owners maps each job's first run name to its shard.
func owners(p Profile, n int) map[string]int {
	out := map[string]int{}
	for _, j := range Jobs(Expand(p)) {
		out[j[0].Name()] = ShardOf(j[0].Name(), n)
	}
	return out
}

// The shards of a plan are a partition of its jobs, and adding a method,
// a seed or a model moves no existing job to another shard.
func TestShardAssignmentStable(t *testing.T) {
	for _, n := range []int{2, 3, 4, 7} {
		p := testProfile()
		before := owners(p, n)
		// The union of the shards is the plan, with no run twice.
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			r := &Runner{Profile: p, Shard: i, Shards: n}
			for _, j := range r.mine() {
				for _, s := range j {
					seen[s.File]++
				}
			}
		}
		for _, s := range Expand(p) {
			if seen[s.File] != 1 {
				t.Errorf("%d shards: %s is in %d shards", n, s.Name(), seen[s.File])
			}
		}
		if len(seen) != len(Expand(p)) {
			t.Errorf("%d shards: %d runs, the plan has %d", n, len(seen), len(Expand(p)))
		}

		grown := testProfile()
		grown.Seeds = append(grown.Seeds, 3)
		for i := range grown.Plans {
			grown.Plans[i].Methods = append([]string{"extra"}, grown.Plans[i].Methods...) // first, to shift every position
			grown.Plans[i].Models = append(grown.Plans[i].Models, "fake-big")
		}
		after := owners(grown, n)
		if len(after) <= len(before) {
			t.Fatalf("the grown plan has %d jobs, the plan %d", len(after), len(before))
		}
		for name, shard := range before {
			if after[name] != shard {
				t.Errorf("%d shards: adding a seed, a method and a model moved %s from shard %d to %d", n, name, shard, after[name])
			}
		}
	}
	// The shipped profiles too: every run lands in exactly one of 4.
	for _, name := range ProfileNames() {
		p, err := LookupProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := 0; i < 4; i++ {
			r := &Runner{Profile: p, Shard: i, Shards: 4}
			for _, j := range r.mine() {
				n += len(j)
			}
		}
		if want := len(Expand(p)); n != want {
			t.Errorf("profile %s: 4 shards hold %d runs, the plan %d", name, n, want)
		}
	}
}

// runShards runs the test profile as n shards into dir/shard-i (without
// the shards' own tables and plots, which merge does not read).
func runShards(t *testing.T, dir string, n int) []string {
	t.Helper()
	var dirs []string
	for i := 0; i < n; i++ {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		r := testRunner(out, fakeBuilders(nil, 0))
		r.Shard, r.Shards = i, n
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, out)
	}
	return dirs
}

// Four shards merged give the files of an unsharded command byte for
// byte: run files, tuning files, config.json, scores.json, scores.arrow,
// tables.md and the plots.
func TestMergeIdentical(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "all")
	r := testRunner(all, fakeBuilders(nil, 0))
	r.Finish = WriteReports
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	want := tree(t, all)
	for _, f := range []string{"config.json", results.SummaryFile, results.TablesFile, results.ArrowFile, "runs/sequence/fake/anchor/seed2.json", "tune/fake/anchor.config.json"} {
		if _, ok := want[f]; !ok {
			t.Fatalf("the unsharded command wrote no %s", f)
		}
	}
	shards := runShards(t, dir, 4)
	// Each shard holds part of the runs (not all in one shard).
	for _, d := range shards {
		n := 0
		for k := range tree(t, d) {
			if strings.HasPrefix(k, "runs/") {
				n++
			}
		}
		if n == 14 {
			t.Errorf("%s holds every run", d)
		}
	}
	merged := filepath.Join(dir, "merged")
	m, err := MergeShards(merged, shards, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Runs != 14 || m.Shards != 4 || m.Duplicates != 0 || len(m.Missing) != 0 {
		t.Errorf("merge says %+v, want 14 runs from 4 shards", m)
	}
	if diff := cmp.Diff(want, tree(t, merged)); diff != "" {
		t.Errorf("merged shards differ from the unsharded command (-unsharded +merged):\n%s", diff)
	}

	// A shard resumed after it had finished writes a config.json without
	// its tuning choice; the choice is read back from its tuning files.
	for _, d := range shards {
		r := testRunner(d, fakeBuilders(nil, 0))
		r.Shard, r.Shards = slices.Index(shards, d), 4
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
	}
	resumed := filepath.Join(dir, "resumed")
	if _, err := MergeShards(resumed, shards, false); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want["config.json"], tree(t, resumed)["config.json"]); diff != "" {
		t.Errorf("config.json merged from resumed shards (-unsharded +merged):\n%s", diff)
	}

	// The unsharded folder and a shard overlap: duplicates that agree
	// (wall time aside) are accepted.
	again := filepath.Join(dir, "again")
	if err := rewriteRun(filepath.Join(all, "runs/sequence/fake/naive/seed1.json"), func(m map[string]any) { m["wall_seconds"] = 99.5 }); err != nil {
		t.Fatal(err)
	}
	m, err = MergeShards(again, append([]string{all}, shards...), false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Runs != 14 || m.Duplicates != 14 {
		t.Errorf("merge of overlapping folders says %+v", m)
	}
}

// With the real model and methods on the committed data, four shards
// merged give the unsharded command's files byte for byte.
func TestMergeIdenticalReal(t *testing.T) {
	data := dataDir(t)
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(out string, shard, shards int) {
		r := &Runner{Profile: tiny(t, Overrides{Methods: []string{"naive", "ewc", "aisp"}}), Build: Real(), Data: data, Out: out,
			Jobs: 1, Cores: 1, Now: func() time.Time { return t0 }, PeakMem: func() uint64 { return 1 },
			Shard: shard, Shards: shards, Finish: WriteReports}
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	run(filepath.Join(dir, "all"), 0, 1)
	var shards []string
	for i := 0; i < 4; i++ {
		shards = append(shards, filepath.Join(dir, fmt.Sprint("shard-", i)))
		run(shards[i], i, 4)
	}
	merged := filepath.Join(dir, "merged")
	if _, err := MergeShards(merged, shards, false); err != nil {
		t.Fatal(err)
	}
	want := tree(t, filepath.Join(dir, "all"))
	if len(want) < 10 {
		t.Fatalf("the unsharded command wrote only %v", keys(want))
	}
	if diff := cmp.Diff(want, tree(t, merged)); diff != "" {
		t.Errorf("merged shards differ from the unsharded command (-unsharded +merged):\n%s", diff)
	}
}

// rewriteRun changes a run file's JSON.
func rewriteRun(path string, edit func(map[string]any)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	edit(m)
	b, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	shards := runShards(t, dir, 4)
	// The shard that holds sequence/fake/naive/seed1.
	owner := shards[ShardOf("sequence/fake/naive/seed1", 4)]
	merge := func(t *testing.T, dirs []string, partial bool) (*Merged, error) {
		t.Helper()
		return MergeShards(filepath.Join(t.TempDir(), "out"), dirs, partial)
	}

	t.Run("missing shard", func(t *testing.T) {
		var rest []string
		for _, d := range shards {
			if d != owner {
				rest = append(rest, d)
			}
		}
		_, err := merge(t, rest, false)
		if err == nil || !strings.Contains(err.Error(), "sequence/fake/naive/seed1") || !strings.Contains(err.Error(), "-allow-partial") {
			t.Fatalf("error %v", err)
		}
		out := filepath.Join(t.TempDir(), "out")
		m, err := MergeShards(out, rest, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Missing) == 0 || m.Runs+len(m.Missing) != 14 {
			t.Errorf("partial merge says %+v", m)
		}
		md, err := os.ReadFile(filepath.Join(out, results.TablesFile))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(md), "## Missing runs") || !strings.Contains(string(md), "`sequence/fake/naive/seed1`") {
			t.Errorf("tables.md does not list the missing runs:\n%s", md)
		}
	})

	t.Run("duplicate that disagrees", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "copy")
		if err := os.CopyFS(other, os.DirFS(owner)); err != nil {
			t.Fatal(err)
		}
		if err := rewriteRun(filepath.Join(other, "runs/sequence/fake/naive/seed1.json"), func(m map[string]any) { m["steps"] = 1 }); err != nil {
			t.Fatal(err)
		}
		_, err := merge(t, append(append([]string{}, shards...), other), false)
		if err == nil || !strings.Contains(err.Error(), "run sequence/fake/naive/seed1 differs") || !strings.Contains(err.Error(), "field steps") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("other settings", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other")
		r := testRunner(other, fakeBuilders(nil, 0))
		r.Profile.Steps = 7
		r.Shard, r.Shards = 0, 4
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		_, err := merge(t, []string{shards[1], other}, false)
		if err == nil || !strings.Contains(err.Error(), "Steps 6 → 7") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("other backend", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "backend")
		b := fakeBuilders(nil, 0)
		b.Backend = "fake-blas"
		r := testRunner(other, b)
		r.Shard, r.Shards = 0, 4
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		_, err := merge(t, []string{shards[1], other}, false)
		if err == nil || !strings.Contains(err.Error(), "backend fake → fake-blas") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("other kernel merges", func(t *testing.T) {
		d := t.TempDir()
		var dirs []string
		for i, k := range []string{"avx512", "avx2"} {
			b := fakeBuilders(nil, 0)
			b.Kernel = k
			out := filepath.Join(d, k)
			r := testRunner(out, b)
			r.Shard, r.Shards = i, 2
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, out)
		}
		out := filepath.Join(d, "merged")
		if _, err := MergeShards(out, dirs, false); err != nil {
			t.Fatal(err)
		}
		c, err := readResolved(out)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kernel != "avx2,avx512" {
			t.Errorf("merged config kernel %q, want avx2,avx512", c.Kernel)
		}
	})

	t.Run("other schema version", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "schema")
		if err := os.CopyFS(other, os.DirFS(shards[0])); err != nil {
			t.Fatal(err)
		}
		if err := rewriteRun(filepath.Join(other, "config.json"), func(m map[string]any) { m["schema_version"] = "0" }); err != nil {
			t.Fatal(err)
		}
		_, err := merge(t, []string{shards[1], other}, false)
		if err == nil || !strings.Contains(err.Error(), `schema version "0"`) || !strings.Contains(err.Error(), "config.json") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("not an output folder", func(t *testing.T) {
		_, err := merge(t, []string{shards[0], t.TempDir()}, false)
		if err == nil || !strings.Contains(err.Error(), "has no config.json") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("a run outside the plan", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "stray")
		if err := os.CopyFS(other, os.DirFS(owner)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(owner, "runs/sequence/fake/naive/seed1.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(other, "runs/sequence/fake/naive/seed9.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = merge(t, []string{other}, true)
		if err == nil || !strings.Contains(err.Error(), "seed9.json is not a run of profile test") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("output folder not empty", func(t *testing.T) {
		_, err := MergeShards(shards[1], shards, false)
		if err == nil || !strings.Contains(err.Error(), "also a shard folder") {
			t.Fatalf("error %v", err)
		}
		out := t.TempDir()
		os.WriteFile(filepath.Join(out, "x"), nil, 0o644)
		_, err = MergeShards(out, shards, false)
		if err == nil || !strings.Contains(err.Error(), "is not empty") {
			t.Fatalf("error %v", err)
		}
	})
}

// Tuning once, then copying its tune/ folder into every shard's folder
// before the shards start, spares each shard its own tuning (the
// workaround docs/CLUSTER.md gives), and the merge is unchanged.
func TestShardsReuseTuning(t *testing.T) {
	dir := t.TempDir()
	once := filepath.Join(dir, "tune-once")
	b, built := countingBuilders()
	r := testRunner(once, b)
	r.TuneOnly = true
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if *built == 0 {
		t.Fatal("-tune-only built no model")
	}
	if _, err := os.Stat(filepath.Join(once, "runs")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("-tune-only wrote test runs (%v)", err)
	}
	var shards []string
	for i := 0; i < 4; i++ {
		out := filepath.Join(dir, fmt.Sprint("shard-", i))
		b, built := countingBuilders()
		r := testRunner(out, b)
		r.Shard, r.Shards, r.TuneFrom = i, 4, once
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		// One model per job (a compression run shares its sequence run's).
		if n := len(r.mine()); *built != n {
			t.Errorf("shard %d built %d models for %d jobs: it tuned again", i, *built, n)
		}
		shards = append(shards, out)
	}
	all := filepath.Join(dir, "all")
	ra := testRunner(all, fakeBuilders(nil, 0))
	ra.Finish = WriteReports
	if err := ra.Run(); err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(dir, "merged")
	if _, err := MergeShards(merged, shards, false); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree(t, all), tree(t, merged)); diff != "" {
		t.Errorf("merged shards that reused one tuning differ from the unsharded command:\n%s", diff)
	}

	// A folder tuned with other settings, or without a pair this command
	// tunes, is refused before anything trains.
	t.Run("other settings", func(t *testing.T) {
		r := testRunner(filepath.Join(t.TempDir(), "s"), fakeBuilders(nil, 0))
		r.Profile.Steps, r.TuneFrom = 7, once
		if err := r.Run(); err == nil || !strings.Contains(err.Error(), "tuned with other settings") || !strings.Contains(err.Error(), "Steps 6 → 7") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("pair missing", func(t *testing.T) {
		partial := filepath.Join(t.TempDir(), "partial")
		if err := os.CopyFS(partial, os.DirFS(once)); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(partial, "tune")); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(partial, "tune"), 0o755); err != nil {
			t.Fatal(err)
		}
		r := testRunner(filepath.Join(t.TempDir(), "s"), fakeBuilders(nil, 0))
		r.TuneFrom = partial
		if err := r.Run(); err == nil || !strings.Contains(err.Error(), "holds no tuning of") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("tune-only without a grid", func(t *testing.T) {
		r := testRunner(filepath.Join(t.TempDir(), "s"), fakeBuilders(nil, 0))
		r.TuneOnly, r.Profile.Grids = true, nil
		if err := r.Run(); err == nil || !strings.Contains(err.Error(), "nothing to tune") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("tune-only with a shard", func(t *testing.T) {
		r := testRunner(filepath.Join(t.TempDir(), "s"), fakeBuilders(nil, 0))
		r.TuneOnly, r.Shard, r.Shards = true, 1, 4
		if err := r.Run(); err == nil || !strings.Contains(err.Error(), "every shard") {
			t.Errorf("error %v", err)
		}
	})
}
