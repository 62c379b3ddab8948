package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
	"github.com/sleepbench/sleepbench/tasks"
)

// dataDir is the committed data (SLEEPBENCH_DATA overrides it).
func dataDir(t *testing.T) string {
	dir := os.Getenv("SLEEPBENCH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "datasets", "data")
	}
	for _, d := range []string{"speech", "email", "prose"} {
		if _, err := os.Stat(filepath.Join(dir, datasets.GPT2Tiny, d+"-train.arrow")); err != nil {
			t.Skipf("no committed data: %v", err)
		}
	}
	return dir
}

// tiny is the quick profile cut to a few steps on two domains.
func tiny(t *testing.T, o Overrides) Profile {
	p := Quick()
	o.Models = []string{"custom"}
	o.Seeds = []uint64{1}
	o.Order = []string{"speech", "email"}
	o.Set = append([]string{"init=scratch", "steps=2", "warmup=1", "days=1", "day_steps=1", "ctx=16", "batch=2", "eval_rows=4", "eval_batch=4"}, o.Set...)
	if err := p.Apply(o); err != nil {
		t.Fatal(err)
	}
	return p
}

// The quick profile's smallest configuration runs the three protocols on
// the committed Arrow files with the real model and methods, and writes
// result files, tables and scores.
func TestEndToEnd(t *testing.T) {
	data := dataDir(t)
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	out := t.TempDir()
	r := &Runner{Profile: tiny(t, Overrides{Methods: []string{"naive", "aisp"}}), Build: Real(), Data: data, Out: out, Jobs: 1, Finish: WriteReports}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	seq, err := results.LoadRun(filepath.Join(out, "runs/sequence/custom/aisp/seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Rows 0, after speech, after email, after the next day (prose).
	if len(seq.R) != 4 || !seq.NextDay || seq.Tasks[1] != "email" || seq.Steps < 3*2 || seq.Tokens < 3*2*2*16 || seq.PeakMemBytes == 0 {
		t.Errorf("sequence run: R %v, tasks %v, steps %d, tokens %d, peak %d", seq.R, seq.Tasks, seq.Steps, seq.Tokens, seq.PeakMemBytes)
	}
	dorm, err := results.LoadRun(filepath.Join(out, "runs/dormancy/custom/aisp/seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dorm.Days) != 2 || dorm.Config["method.sleep_fraction"] != "0.05" {
		t.Errorf("dormancy run: days %v, config %v", dorm.Days, dorm.Config)
	}
	comp, err := results.LoadRun(filepath.Join(out, "runs/compression/custom/aisp/seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(comp.Compression) != 5 || len(comp.Compression[Int4]) != 2 || len(comp.CompressionShare) != 4 {
		t.Errorf("compression run: %v", comp.Compression)
	}
	// The compression run scores the sequence run's final model as is.
	if diff := cmp.Diff(seq.R[3], comp.Compression[NoCompression]); diff != "" {
		t.Errorf("compression 'none' differs from the sequence run's last row:\n%s", diff)
	}
	for _, f := range []string{results.TablesFile, results.SummaryFile, results.ArrowFile, "config.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// With the real model, -jobs 2 (one thread per model) writes the same
// numbers as -jobs 1 (two threads).
func TestEndToEndJobsInvariant(t *testing.T) {
	data := dataDir(t)
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(jobs int) map[string]string {
		out := t.TempDir()
		r := &Runner{Profile: tiny(t, Overrides{Protocols: []string{Sequence}, Methods: []string{"naive", "replay"}}), Build: Real(), Data: data, Out: out,
			Jobs: jobs, Cores: 2, Now: func() time.Time { return t0 }, PeakMem: func() uint64 { return 1 }}
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		return tree(t, out)
	}
	if diff := cmp.Diff(run(1), run(2)); diff != "" {
		t.Errorf("-jobs 1 and -jobs 2 differ (-jobs1 +jobs2):\n%s", diff)
	}
}

// BenchmarkWakeStep measures the loop's wake training on the committed
// data — batch, forward, backward, clip, AdamW — per model at the quick
// and default profiles' shapes, in tokens/s.
func BenchmarkWakeStep(b *testing.B) {
	dir := os.Getenv("SLEEPBENCH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "datasets", "data")
	}
	for _, c := range []struct {
		model      string
		ctx, batch int
	}{{"custom", 32, 8}, {"custom", 64, 8}, {"gpt2-mini", 64, 8}, {"bert-mini", 64, 8}} {
		b.Run(c.model+"/"+strconv.Itoa(c.batch)+"x"+strconv.Itoa(c.ctx), func(b *testing.B) {
			build := Real()
			info, err := build.Describe(c.model)
			if err != nil {
				b.Fatal(err)
			}
			task, err := build.OpenTask(tasks.Spec{Dir: dir, Domain: "speech", Tokenizer: info.Tokenizer, Objective: info.LM, Ctx: c.ctx}, 0)
			if err != nil {
				b.Skipf("no data: %v", err)
			}
			defer task.Close()
			m, err := build.NewModel(c.model, nil, runtime.GOMAXPROCS(0), 1)
			if err != nil {
				b.Fatal(err)
			}
			l := NewLoop("bench", m, methods.Base{}, build.NewOptimizer(m.Params(), 0.01), Settings{Batch: c.batch, LR: 1e-3, Warmup: 1, Schedule: Constant, ClipNorm: 1}, 1)
			if err := l.Train(Period{Task: task, Steps: 1, Label: "warm-up"}); err != nil {
				b.Fatal(err)
			}
			tok := l.Tokens
			b.ResetTimer()
			if err := l.Train(Period{Task: task, Steps: b.N, Label: "bench"}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(l.Tokens-tok)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkEvaluate measures held-out scoring (forward only, top-1 and
// loss) per model at the default profile's shape, in tokens/s: with 256
// windows per domain it costs about as much as the training.
func BenchmarkEvaluate(b *testing.B) {
	dir := os.Getenv("SLEEPBENCH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "datasets", "data")
	}
	for _, model := range []string{"custom", "gpt2-mini", "bert-mini"} {
		b.Run(model+"/64x64", func(b *testing.B) {
			build := Real()
			info, err := build.Describe(model)
			if err != nil {
				b.Fatal(err)
			}
			task, err := build.OpenTask(tasks.Spec{Dir: dir, Domain: "speech", Tokenizer: info.Tokenizer, Objective: info.LM, Ctx: 64, EvalRows: 64}, 0)
			if err != nil {
				b.Skipf("no data: %v", err)
			}
			defer task.Close()
			m, err := build.NewModel(model, nil, runtime.GOMAXPROCS(0), 1)
			if err != nil {
				b.Fatal(err)
			}
			bs, err := task.Test(64)
			if err != nil {
				b.Fatal(err)
			}
			var tokens int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, bt := range bs {
					if _, err := m.Evaluate(bt); err != nil {
						b.Fatal(err)
					}
					tokens += batchTokens(bt)
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// TestDormancyNightsSleep runs AISP's dormancy protocol for real on a
// tiny budget and checks the run record's counters: some night has a
// step with noise above 0 and a reverse cycle, and day 0 and the loss
// curve are recorded.
func TestDormancyNightsSleep(t *testing.T) {
	data := dataDir(t)
	out := t.TempDir()
	p := tiny(t, Overrides{Protocols: []string{Dormancy}, Methods: []string{"aisp"}, Set: []string{"days=2", "day_steps=4", "buffer=16"}})
	r := &Runner{Profile: p, Build: Real(), Data: data, Out: out, Jobs: 1}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	rec, err := results.LoadRun(filepath.Join(out, "runs/dormancy/custom/aisp/seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Days) != 3 || len(rec.DaysLoss) != 3 || len(rec.Periods) != 3 {
		t.Fatalf("days %v, losses %v, %d periods: want 3 each (day 0..2)", rec.Days, rec.DaysLoss, len(rec.Periods))
	}
	noisy, reverse := false, false
	for _, pe := range rec.Periods[1:] { // the nights
		// sleep_ratio 0.5 of 4 day steps: 2 sleep steps, cycles of 1.
		if pe.ExtraSteps != 2 || pe.Method["sleep_steps"] != 2 {
			t.Errorf("%s: %d extra steps, method says %v; want a night of 2", pe.Label, pe.ExtraSteps, pe.Method)
		}
		noisy = noisy || pe.Method["noisy_steps"] > 0
		reverse = reverse || pe.Method["reverse_steps"] > 0
	}
	if !noisy || !reverse {
		t.Errorf("no night had noise (%v) or a reverse cycle (%v): %+v", noisy, reverse, rec.Periods)
	}
}

// TestInitFromCheckpoint starts two seeds from one checkpoint: before any
// training they score the same (from scratch they would not), the run
// records the checkpoint, and a checkpoint of another config, or a
// missing base checkpoint, is refused with an error naming the cause.
func TestInitFromCheckpoint(t *testing.T) {
	data := dataDir(t)
	cfg, err := models.LookupConfig("custom")
	if err != nil {
		t.Fatal(err)
	}
	src, err := models.NewTransformer(cfg, 99)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(t.TempDir(), "custom.safetensors")
	if err := models.SaveCheckpoint(ckpt, src.Params(), models.BF16, nil); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	p := tiny(t, Overrides{Protocols: []string{Sequence}, Methods: []string{"naive"}, Set: []string{"init=" + ckpt}})
	p.Seeds = []uint64{1, 2}
	r := &Runner{Profile: p, Build: Real(), Data: data, Out: out, Jobs: 1}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	for _, seed := range []string{"1", "2"} {
		rec, err := results.LoadRun(filepath.Join(out, "runs/sequence/custom/naive/seed"+seed+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.Config["init_checkpoint"]; !strings.HasPrefix(got, ckpt+" sha256:") {
			t.Errorf("seed %s: init_checkpoint %q", seed, got)
		}
		rows = append(rows, append(rec.R[0], rec.Loss[0]...))
	}
	if !slices.Equal(rows[0], rows[1]) {
		t.Errorf("row 0 differs between seeds started from one checkpoint: %v vs %v", rows[0], rows[1])
	}

	// gpt2-mini cannot start from custom's checkpoint.
	bad := tiny(t, Overrides{Protocols: []string{Sequence}, Models: []string{"gpt2-mini"}, Methods: []string{"naive"}, Set: []string{"init=" + ckpt}})
	bad.Plans[0].Models = []string{"gpt2-mini"}
	err = (&Runner{Profile: bad, Build: Real(), Data: data, Out: t.TempDir(), Jobs: 1}).Run()
	if err == nil || !strings.Contains(err.Error(), ckpt) || !strings.Contains(err.Error(), "shape") {
		t.Errorf("custom checkpoint into gpt2-mini: %v", err)
	}
	// A missing base checkpoint says how to make one.
	base := tiny(t, Overrides{Protocols: []string{Sequence}, Methods: []string{"naive"}, Set: []string{"init=base"}})
	err = (&Runner{Profile: base, Build: Real(), Data: data, Out: t.TempDir(), Jobs: 1, Base: t.TempDir()}).Run()
	if err == nil || !strings.Contains(err.Error(), "make pretrain") {
		t.Errorf("missing base checkpoint: %v", err)
	}
}

// TestDefaultEvaluationSize checks the default profile's evaluation on
// the committed data: at least 256 held-out windows per domain for every
// model, and at least 2,000 masked positions per domain for the encoder.
func TestDefaultEvaluationSize(t *testing.T) {
	data := dataDir(t)
	p := Default()
	for _, model := range []string{"custom", "gpt2-mini", "bert-mini"} {
		info, err := Describe(model)
		if err != nil {
			t.Fatal(err)
		}
		obj := p.objective(info)
		for _, d := range append(DefaultOrder(), p.Interference) {
			tk, err := tasks.Open(tasks.Spec{Dir: data, Domain: d, Tokenizer: info.Tokenizer, Objective: obj, Ctx: p.Ctx, EvalRows: p.evalRows(obj)}, 0)
			if err != nil {
				t.Fatal(err)
			}
			bs, err := tk.Test(p.EvalBatch)
			tk.Close()
			if err != nil {
				t.Fatal(err)
			}
			rows, targets := 0, 0
			for _, b := range bs {
				rows += b.B
				for _, y := range b.Targets {
					if y >= 0 {
						targets++
					}
				}
			}
			if rows < 256 {
				t.Errorf("%s on %s: %d windows, want at least 256", model, d, rows)
			}
			if obj == models.Masked && targets < 2000 {
				t.Errorf("%s on %s: %d masked positions, want at least 2,000", model, d, targets)
			}
		}
	}
}
