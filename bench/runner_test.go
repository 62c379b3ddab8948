package bench

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/results"
)

func testProfile() Profile {
	return Profile{
		Name: "test",
		Plans: []Plan{
			{Sequence, []string{"fake"}, []string{"naive", "sleeper", "anchor"}},
			{Dormancy, []string{"fake"}, []string{"naive", "sleeper"}},
			{Compression, []string{"fake"}, []string{"naive", "anchor"}},
		},
		Grids:        map[string]map[string][]string{"anchor": {"lambda": {"0.1", "3"}}},
		TuneSeeds:    []uint64{7},
		Seeds:        []uint64{1, 2},
		Orders:       [][]string{{"speech", "scripture", "email"}},
		Interference: "prose",
		Objective:    LM,
		Ctx:          4, Batch: 3, EvalBatch: 2, EvalRows: 4, Steps: 6,
		LR: 0.3, MinLR: 0.03, Warmup: 1, Schedule: Cosine, ClipNorm: 1,
		Days: 4, DaySteps: 4, SleepRatio: 0.5, PruneFrac: 0.3,
	}
}

func testRunner(out string, b Builders) *Runner {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Runner{
		Profile: testProfile(), Build: b, Data: "data", Out: out, Jobs: 1, Cores: 2,
		Now:     func() time.Time { return t0 },
		PeakMem: func() uint64 { return 123 },
	}
}

// tree reads every file under dir, by relative path.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func keys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func TestExpandAndJobs(t *testing.T) {
	p := testProfile()
	specs := Expand(p)
	if len(specs) != 6+4+4 {
		t.Fatalf("%d runs, want 14", len(specs))
	}
	if specs[0].File != "runs/sequence/fake/naive/seed1.json" || specs[0].Name() != "sequence/fake/naive/seed1" {
		t.Errorf("first run %+v", specs[0])
	}
	jobs := Jobs(specs)
	if len(jobs) != 10 {
		t.Errorf("%d jobs, want 10 (compression joins its sequence run)", len(jobs))
	}
	if len(jobs[0]) != 2 || jobs[0][1].File != "runs/compression/fake/naive/seed1.json" {
		t.Errorf("job 0 = %+v", jobs[0])
	}
	p.Orders = append(p.Orders, []string{"email", "speech"})
	specs = Expand(p)
	if len(specs) != 28 || specs[1].File != "runs/sequence/fake/naive/seed2-order1.json" || specs[2].File != "runs/sequence/fake/naive/seed1-order2.json" {
		t.Errorf("with two orders: %d runs, %s, %s", len(specs), specs[1].File, specs[2].File)
	}
}

// One uninterrupted command; the same command interrupted (a NaN in the
// 4th model built) and run again; the files are byte for byte the same.
// Also: -jobs 2 gives the same files, and a missing compression file is
// made again from a retrained model.
func TestResumeIdentical(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := testRunner(a, fakeBuilders(nil, 0)).Run(); err != nil {
		t.Fatal(err)
	}
	want := tree(t, a)
	var runFiles int
	for k := range want {
		if strings.HasPrefix(k, "runs/") {
			runFiles++
		}
	}
	if runFiles != 14 {
		t.Errorf("%d run files, want 14: %v", runFiles, keys(want))
	}
	for _, f := range []string{"config.json", "tune/fake/anchor.config.json", "tune/fake/anchor/lambda=3-seed7.config.json"} {
		if _, ok := want[f]; !ok {
			t.Errorf("missing %s", f)
		}
	}

	b := filepath.Join(dir, "b")
	err := testRunner(b, fakeBuilders(nil, 4)).Run()
	if err == nil || !strings.Contains(err.Error(), "NaN loss at step 3 of task 1 (speech)") {
		t.Fatalf("interrupted run: error %v", err)
	}
	partial := tree(t, b)
	if len(partial) >= len(want) {
		t.Fatalf("the interruption left %d files of %d", len(partial), len(want))
	}
	if err := testRunner(b, fakeBuilders(nil, 0)).Run(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, tree(t, b)); diff != "" {
		t.Errorf("resumed files differ (-uninterrupted +resumed):\n%s", diff)
	}

	// A compression file lost after its sequence file was written.
	os.Remove(filepath.Join(b, "runs/compression/fake/anchor/seed2.json"))
	if err := testRunner(b, fakeBuilders(nil, 0)).Run(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, tree(t, b)); diff != "" {
		t.Errorf("after redoing a compression run (-want +got):\n%s", diff)
	}

	c := filepath.Join(dir, "c")
	r := testRunner(c, fakeBuilders(nil, 0))
	r.Jobs = 2
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, tree(t, c)); diff != "" {
		t.Errorf("-jobs 2 differs from -jobs 1 (-jobs1 +jobs2):\n%s", diff)
	}
}

// A resumed command builds no model when every file exists (tuning
// included), and a changed setting is refused.
func TestResumeSkipsAndRefusesOtherSettings(t *testing.T) {
	out := t.TempDir()
	if err := testRunner(out, fakeBuilders(nil, 0)).Run(); err != nil {
		t.Fatal(err)
	}
	b, built := countingBuilders()
	if err := testRunner(out, b).Run(); err != nil {
		t.Fatal(err)
	}
	if *built != 0 {
		t.Errorf("the resumed command built %d models, want 0", *built)
	}
	r := testRunner(out, fakeBuilders(nil, 0))
	r.Profile.Steps = 7
	err := r.Run()
	if err == nil || !strings.Contains(err.Error(), "Steps 6 → 7") {
		t.Errorf("changed steps: error %v", err)
	}
}

// A folder records the GEMM kernel that wrote it, and is not resumed
// under a kernel whose numbers may differ (go after avx512), but is under
// one that gives the same bits (avx2 after avx512).
func TestResumeRefusesOtherKernel(t *testing.T) {
	out := t.TempDir()
	b := fakeBuilders(nil, 0)
	b.Kernel = "avx512"
	if err := testRunner(out, b).Run(); err != nil {
		t.Fatal(err)
	}
	var c resolved
	data, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &c); err != nil || c.Kernel != "avx512" {
		t.Fatalf("config.json kernel %q (%v), want avx512", c.Kernel, err)
	}
	b = fakeBuilders(nil, 0)
	b.Kernel = "go"
	err = testRunner(out, b).Run()
	if err == nil || !strings.Contains(err.Error(), "GEMM kernel avx512 → go") || !strings.Contains(err.Error(), "SLEEPBENCH_KERNEL=avx512") {
		t.Errorf("resume under the go kernel: error %v", err)
	}
	for _, k := range []string{"avx2", "avx512"} {
		b.Kernel = k
		if err := testRunner(out, b).Run(); err != nil {
			t.Errorf("resume under %s: %v", k, err)
		}
	}
}

// Shards partition the jobs; their folders together hold the runs of an
// unsharded command, byte for byte.
func TestShards(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "all")
	if err := testRunner(all, fakeBuilders(nil, 0)).Run(); err != nil {
		t.Fatal(err)
	}
	want := tree(t, all)
	merged := map[string]string{}
	for i := 0; i < 3; i++ {
		out := filepath.Join(dir, "shard", string(rune('0'+i)))
		r := testRunner(out, fakeBuilders(nil, 0))
		r.Shard, r.Shards = i, 3
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		for k, v := range tree(t, out) {
			if !strings.HasPrefix(k, "runs/") {
				continue
			}
			if _, dup := merged[k]; dup {
				t.Errorf("%s in two shards", k)
			}
			merged[k] = v
		}
	}
	for k, v := range want {
		if strings.HasPrefix(k, "runs/") && merged[k] != v {
			t.Errorf("%s: merged shards differ from the unsharded run", k)
		}
	}
	if len(merged) != 14 {
		t.Errorf("shards hold %d runs, want 14", len(merged))
	}
}

// The run records: shapes, the tuned λ, the dormancy sleep budget.
func TestRunRecords(t *testing.T) {
	out := t.TempDir()
	var nights []int
	r := testRunner(out, fakeBuilders(&nights, 0))
	r.Profile.Plans = []Plan{
		{Sequence, []string{"fake"}, []string{"anchor"}},
		{Dormancy, []string{"fake"}, []string{"sleeper"}},
	}
	r.Profile.Seeds = []uint64{1}
	r.Finish = WriteReports // reads the run files, skipping config and tuning files
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(out, results.TablesFile)); err != nil || st.Size() == 0 {
		t.Errorf("tables: %v", err)
	}
	// Base night: 6 steps × 10 × 0.05 = 3; each day: 4 × 10 × 0.05 = 2.
	if diff := cmp.Diff([]int{3, 2, 2, 2, 2}, nights); diff != "" {
		t.Errorf("sleep steps per night (-want +got):\n%s", diff)
	}
	d, err := results.LoadRun(filepath.Join(out, "runs/dormancy/fake/sleeper/seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Days) != 5 || d.Config["method.sleep_fraction"] != "0.05" || d.Config["interfering"] != "scripture,email,prose" {
		t.Errorf("dormancy record: days %v, config %v", d.Days, d.Config)
	}
	if d.Steps != 6+3+4*(4+2) {
		t.Errorf("dormancy steps %d, want %d (wake and sleep)", d.Steps, 6+3+4*(4+2))
	}
	s, err := results.LoadRun(filepath.Join(out, "runs/sequence/fake/anchor/seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.R) != 5 || !s.NextDay || len(s.Tasks) != 3 || s.Steps != 4*6 || s.Tokens != 4*6*3*4 {
		t.Errorf("sequence record: R %v, tasks %v, steps %d, tokens %d", s.R, s.Tasks, s.Steps, s.Tokens)
	}
	choice := s.Config["tuned.lambda"]
	if choice != "0.1" && choice != "3" {
		t.Errorf("tuned.lambda = %q", choice)
	}
	if !strings.Contains(s.Config["tune.scores"], "lambda=0.1:") || s.Config["method.lambda"] != choice {
		t.Errorf("tuning not recorded: %v", s.Config)
	}
}

func TestValidateNames(t *testing.T) {
	for _, c := range []struct {
		edit func(p *Profile)
		want string
	}{
		{func(p *Profile) { p.Plans[0].Models = []string{"gpt9"} }, `unknown model "gpt9" (valid: fake, fake-big)`},
		{func(p *Profile) { p.Plans[0].Methods = []string{"sleep"} }, `unknown method "sleep" (registered: anchor, naive, sleeper)`},
		{func(p *Profile) { p.Plans[0].Protocol = "nap" }, `unknown protocol "nap" (valid: sequence, dormancy, compression)`},
		{func(p *Profile) { p.Steps = 0 }, "steps 0 < 1"},
	} {
		r := testRunner(t.TempDir(), fakeBuilders(nil, 0))
		c.edit(&r.Profile)
		err := r.Run()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	r := testRunner(t.TempDir(), fakeBuilders(nil, 0))
	r.Profile.Orders = [][]string{{"speech", "missing"}}
	if err := r.Run(); err == nil || !strings.Contains(err.Error(), "opening missing") {
		t.Errorf("missing domain: error %v", err)
	}
}

// The progress line, when stderr is not a terminal: plain lines, the
// last one with every run done.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	r := testRunner(t.TempDir(), fakeBuilders(nil, 0))
	r.Progress = &buf
	r.Profile.Grids = nil
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "sleepbench: 14/14 runs") || strings.Contains(buf.String(), "\r") {
		t.Errorf("last progress line %q", last)
	}
}

// TestRolesAgree checks that results reads the roles methods declares.
func TestRolesAgree(t *testing.T) {
	pairs := [][2]string{
		{methods.RoleBaseline, results.RoleBaseline}, {methods.RoleEWC, results.RoleEWC},
		{methods.RoleReplay, results.RoleReplay}, {methods.RoleSleep, results.RoleSleep},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("methods role %q, results role %q", p[0], p[1])
		}
	}
	for _, name := range methods.Default.Names() {
		info, _ := methods.Default.Lookup(name)
		got := RecordInfo(info)
		if got.Rank != info.Rank || got.Role != info.Role || got.Baseline != info.Baseline || got.Control != info.Control || got.Parent != info.Parent {
			t.Errorf("%s: record info %+v does not copy %+v", name, got, info)
		}
	}
}
