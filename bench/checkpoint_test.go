package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errStop is what the tests' afterCheckpoint returns to stop a run at a
// checkpoint, as a kill would.
var errStop = errors.New("stopped at a checkpoint by the test")

// checkpointRunner is a runner of the tiny real profile (the custom
// model from scratch on two domains, every protocol) with a checkpoint
// every wake step, a fixed clock and peak memory, so that every file of
// two runs can be compared byte for byte.
func checkpointRunner(t *testing.T, out string, methods ...string) *Runner {
	t.Helper()
	p := tiny(t, Overrides{Methods: methods, Set: []string{"steps=3", "days=2", "day_steps=2", "checkpoint_every=1"}})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Runner{
		Profile: p, Build: Real(), Data: dataDir(t), Out: out, Jobs: 1, Cores: 1, Finish: WriteReports,
		Now: func() time.Time { return t0 }, PeakMem: func() uint64 { return 123 },
	}
}

// A run stopped at a checkpoint (in-process, as a kill at that moment
// would leave it) and run again resumes from the checkpoint, and after
// several such stops every file of the output folder (runs, scores,
// tables, config) is byte-identical to an uninterrupted run's; no
// checkpoint is left behind.
func TestCheckpointResumeIdentical(t *testing.T) {
	meths := []string{"naive", "ewc", "aisp"} // joint, replay and the rest: methodtest's checkpoint check
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := checkpointRunner(t, a, meths...).Run(); err != nil {
		t.Fatal(err)
	}
	want := tree(t, a)
	if _, err := os.Stat(filepath.Join(a, "checkpoints")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a finished run left %s (err %v)", filepath.Join(a, "checkpoints"), err)
	}

	// Stop after the 4th checkpoint of each attempt, so that stops land
	// inside periods and on boundaries, in every run in turn.
	b := filepath.Join(dir, "b")
	stops, saved := 0, 0
	for attempt := 0; ; attempt++ {
		if attempt > 200 {
			t.Fatal("the run did not finish after 200 attempts")
		}
		r := checkpointRunner(t, b, meths...)
		n := 0
		r.afterCheckpoint = func(string) error {
			saved++
			if n++; n == 4 {
				return errStop
			}
			return nil
		}
		err := r.Run()
		if err == nil {
			break
		}
		if !errors.Is(err, errStop) {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		stops++
	}
	if stops < 10 {
		t.Errorf("only %d stops (%d checkpoints); want at least 10", stops, saved)
	}
	got := tree(t, b)
	for _, k := range keys(want) {
		if got[k] == want[k] {
			continue
		}
		if strings.HasSuffix(k, ".json") || strings.HasSuffix(k, ".md") {
			t.Errorf("after %d stops %s differs (-uninterrupted +resumed):\n%s", stops, k, cmp.Diff(want[k], got[k]))
		} else {
			t.Errorf("after %d stops %s differs", stops, k)
		}
	}
	for _, k := range keys(got) {
		if _, ok := want[k]; !ok {
			t.Errorf("after %d stops an extra file %s", stops, k)
		}
	}
	t.Logf("%d stops, %d checkpoints saved", stops, saved)
}

// With -keep-checkpoints the checkpoint of every run is kept, at its
// documented path, and a rerun over it changes nothing.
func TestKeepCheckpoints(t *testing.T) {
	out := t.TempDir()
	r := checkpointRunner(t, out, "naive")
	r.KeepCheckpoints = true
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"checkpoints/sequence/custom/naive/seed1.ckpt", "checkpoints/dormancy/custom/naive/seed1.ckpt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("kept checkpoint: %v", err)
		}
		if _, err := os.Stat(filepath.Join(out, strings.TrimSuffix(f, ".ckpt")+".lock")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("lock file of a finished run left behind (err %v)", err)
		}
	}
}

// A checkpoint that is damaged, or was written with other settings, is
// refused with an error naming the file; nothing is overwritten.
func TestCheckpointRefused(t *testing.T) {
	out := t.TempDir()
	r := checkpointRunner(t, out, "replay")
	r.Profile.Plans = r.Profile.Plans[:1] // the sequence only
	r.afterCheckpoint = func(string) error { return errStop }
	if err := r.Run(); !errors.Is(err, errStop) {
		t.Fatalf("first run: %v", err)
	}
	path := filepath.Join(out, "checkpoints/sequence/custom/replay/seed1.ckpt")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		set  string
		want string
	}{
		{"truncated", good[:len(good)/2], "", "data offsets"},
		{"short", good[:5], "", "too short for a safetensors header"},
		{"header", append([]byte{200, 0, 0, 0, 0, 0, 0, 0}, good[8:]...), "", "header"},
		{"other settings", good, "replay.buffer=7", "other settings"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := checkpointRunner(t, out, "replay")
			r.Profile.Plans = r.Profile.Plans[:1]
			if c.set != "" {
				if err := r.Profile.Set(c.set); err != nil {
					t.Fatal(err)
				}
				r.Out = filepath.Join(t.TempDir(), "o")
				dst := r.checkpointPath(RunSpec{File: "runs/sequence/custom/replay/seed1.json"})
				os.MkdirAll(filepath.Dir(dst), 0o755)
				os.WriteFile(dst, c.data, 0o644)
				path = dst
			}
			err := r.Run()
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one naming %s and saying %q", err, path, c.want)
			}
		})
	}
}

// Two runners sharing an output folder never write the same run: while
// one holds a run's lock, the other skips it, writes the rest and says
// which runs it left; once the lock is released (as the kernel releases
// it when its holder dies) the run resumes. A stale lock file that no
// process holds does not block.
func TestRunLock(t *testing.T) {
	out := t.TempDir()
	r := checkpointRunner(t, out, "naive", "replay")
	held := RunSpec{Protocol: Sequence, Model: "custom", Method: "replay", Seed: 1, File: "runs/sequence/custom/replay/seed1.json"}
	lock, err := r.lockRun(held)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run()
	if err == nil || !strings.Contains(err.Error(), "another process") || !strings.Contains(err.Error(), held.Name()) {
		t.Fatalf("error %v; want one naming the held run %s", err, held.Name())
	}
	if strings.Count(err.Error(), "custom") != 1 {
		t.Errorf("error %v names more runs than the held one", err)
	}
	if _, err := os.Stat(filepath.Join(out, held.File)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the held run was written (err %v)", err)
	}
	if _, err := os.Stat(filepath.Join(out, "runs/sequence/custom/naive/seed1.json")); err != nil {
		t.Errorf("a run not held was not written: %v", err)
	}
	// Another process's view: the lock names its holder.
	_, err = checkpointRunner(t, out).lockRun(held)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Errorf("second lock: error %v; want one naming PID %d", err, os.Getpid())
	}
	lock.release(r)

	// A stale lock file (its holder gone) is taken over.
	path := r.lockPath(held)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkpointRunner(t, out, "naive", "replay").Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, held.File)); err != nil {
		t.Errorf("after the lock was released: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoints")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checkpoints/ left behind (err %v)", err)
	}
}

// BenchmarkCheckpoint writes (save) and reads back (load) the checkpoint
// of each small model with AdamW and naive: the model's parameters and
// both moments, F32. It reports the file's size; a method's state adds to
// it (EWC two parameter-sized buffers per anchor, replay and AISP their
// buffered rows).
func BenchmarkCheckpoint(b *testing.B) {
	for _, model := range []string{"custom", "gpt2-mini", "bert-mini"} {
		build := Real()
		m, err := build.NewModel(model, nil, 1, 1)
		if err != nil {
			b.Fatal(err)
		}
		meth, err := build.Methods.New("naive", nil)
		if err != nil {
			b.Fatal(err)
		}
		l := NewLoop(model, m, meth, build.NewOptimizer(m.Params(), 0.01), Quick().settings(model), 1)
		path := filepath.Join(b.TempDir(), model+".ckpt")
		b.Run("save/"+model, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := saveCheckpoint(path, model, "s", l, 0, 0); err != nil {
					b.Fatal(err)
				}
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/1e6, "MB")
		})
		b.Run("load/"+model, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := loadCheckpoint(path, model, "s", l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The temporary files that a killed process left while writing a
// checkpoint or a result file are removed when the run is done again, so
// no stray file or folder is left behind.
func TestStaleTempsRemoved(t *testing.T) {
	out := t.TempDir()
	r := checkpointRunner(t, out, "naive")
	r.Profile.Plans = r.Profile.Plans[:1] // the sequence only
	dir := filepath.Join(out, "checkpoints/sequence/custom/naive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".seed1.ckpt.tmp123456")
	if err := os.WriteFile(stale, []byte("half a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A kill while the result file was being written leaves its
	// temporary file beside it.
	runDir := filepath.Join(out, "runs/sequence/custom/naive")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	staleRun := filepath.Join(runDir, ".seed1.json.tmp654321")
	if err := os.WriteFile(staleRun, []byte(`{"schema_version": "1", "R": [[0.`), 0o644); err != nil {
		t.Fatal(err)
	}
	// And a kill while the reports were written leaves theirs (from
	// before this process started: a live writer's are newer).
	old := time.Now().Add(-time.Hour)
	var reportTemps []string
	for _, f := range []string{".tables.md.tmp111", "plots/.forgetting-custom-naive.png.tmp222"} {
		path := filepath.Join(out, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("half a report"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		reportTemps = append(reportTemps, path)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoints")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checkpoints folder left behind (err %v)", err)
	}
	for _, f := range append(reportTemps, staleRun) {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (err %v)", f, err)
		}
	}
}
