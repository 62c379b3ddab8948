package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/tasks"
)

// tinyPretrain is a budget of seconds on the committed general files.
func tinyPretrain(model, out string) PretrainOptions {
	return PretrainOptions{Model: model, Data: filepath.Join("..", "datasets", "data"), Out: out,
		Steps: 3, Batch: 2, Ctx: 16, Warmup: 1, EvalWindows: 8, EvalBatch: 3, Threads: 1, Seed: 5,
		Command: "sleepbench pretrain -model " + model}
}

// The same options give the same checkpoint and manifest bytes; the
// manifest's numbers are the checkpoint's.
func TestPretrainDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ma, err := Pretrain(tinyPretrain("custom", a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Pretrain(tinyPretrain("custom", b)); err != nil {
		t.Fatal(err)
	}
	// Progress evaluations change nothing but the manifest's curve.
	c := t.TempDir()
	opt := tinyPretrain("custom", c)
	opt.EvalEvery = 1
	mc, err := Pretrain(opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(mc.Curve) != 2 || mc.Curve[1].Step != 2 || mc.Curve[1].Windows != 8 {
		t.Errorf("curve %+v, want steps 1 and 2 of 8 windows", mc.Curve)
	}
	same := func(x, y, name string) {
		t.Helper()
		bx, err := os.ReadFile(filepath.Join(x, name))
		if err != nil {
			t.Fatal(err)
		}
		by, err := os.ReadFile(filepath.Join(y, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bx, by) {
			t.Errorf("%s differs between %s and %s", name, x, y)
		}
	}
	same(a, b, "custom.safetensors")
	same(a, b, "custom.manifest.json")
	same(a, c, "custom.safetensors")

	// 3 steps of 2 rows of 16 tokens; 8 windows of 16 next-token targets.
	if ma.Steps != 3 || ma.TokensSeen != 3*2*16 || ma.Validation.Windows != 8 || ma.Validation.Targets != 8*16 {
		t.Errorf("manifest: steps %d, tokens %d, validation %+v", ma.Steps, ma.TokensSeen, ma.Validation)
	}
	if ma.Objective != "next-token" || ma.Dtype != models.BF16 || ma.Corpus.Domain != "general" || ma.Corpus.Source != "nlp-corpus@4.4.0" ||
		ma.Corpus.Tokenizer != datasets.GPT2Tiny || len(ma.Corpus.Files) != 3 || ma.Schedule.Kind != Cosine || ma.Schedule.Total != 3 ||
		ma.Command != "sleepbench pretrain -model custom" || !strings.HasPrefix(ma.Backend, models.BackendName) {
		t.Errorf("manifest %+v", ma)
	}
	var onDisk PretrainManifest
	raw, _ := os.ReadFile(filepath.Join(a, "custom.manifest.json"))
	if err := json.Unmarshal(raw, &onDisk); err != nil || onDisk.SHA256 != ma.SHA256 || onDisk.Validation != ma.Validation {
		t.Errorf("manifest file %s: %v", raw, err)
	}
	ckpt := filepath.Join(a, "custom.safetensors")
	if sum, err := fileSHA256(ckpt); err != nil || sum != ma.SHA256 {
		t.Errorf("checkpoint sha256 %s, manifest says %s (%v)", sum, ma.SHA256, err)
	}

	// A fresh model loading the checkpoint scores what the manifest says,
	// on the same windows.
	cfg, _ := models.LookupConfig("custom")
	cfg.Threads = 1
	m, err := models.NewTransformer(cfg, 99)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.LoadCheckpoint(ckpt, m.Params()); err != nil {
		t.Fatal(err)
	}
	task, err := tasks.Open(tasks.Spec{Dir: filepath.Join("..", "datasets", "data"), Domain: "general", Tokenizer: datasets.GPT2Tiny,
		Objective: models.NextToken, Ctx: 16}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	opt = tinyPretrain("custom", a)
	if err := opt.fill(); err != nil {
		t.Fatal(err)
	}
	val, err := validationWindows(task, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(val) != 3 || val[2].B != 2 { // 8 windows in batches of 3: 3 + 3 + 2
		t.Errorf("%d validation batches", len(val))
	}
	if s, err := scoreBatches(m, val, -1); err != nil || s != ma.Validation {
		t.Errorf("loaded checkpoint scores %+v (%v), manifest %+v", s, err, ma.Validation)
	}
}

// An encoder pretrains on masked tokens: about 15% of the positions
// (those of [CLS] and [SEP] excluded) are targets.
func TestPretrainMasked(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of bert-mini steps")
	}
	opt := tinyPretrain("bert-mini", t.TempDir())
	opt.Steps = 2
	opt.MaskRate = 0.4
	m, err := Pretrain(opt)
	if err != nil {
		t.Fatal(err)
	}
	if m.Objective != "masked-token" || m.Corpus.Tokenizer != datasets.BERTTiny || m.MaskRate != 0.4 {
		t.Errorf("objective %s, tokenizer %s, training mask rate %v", m.Objective, m.Corpus.Tokenizer, m.MaskRate)
	}
	// 8 windows of 14 maskable tokens: 15% is 2.1, so 2 or 3 each.
	if v := m.Validation; v.Windows != 8 || v.Targets < 16 || v.Targets > 24 || math.IsNaN(v.Loss) {
		t.Errorf("validation %+v", v)
	}
	checkSplit(t, m.Validation)
}

// checkSplit checks that a masked-token score's split by input
// partitions its targets and hits, with most targets at [MASK] inputs.
func checkSplit(t *testing.T, v PretrainScore) {
	t.Helper()
	a := v.AtMask
	if a.MaskTargets+a.KeptTargets+a.RandomTargets != v.Targets || a.MaskCorrect+a.KeptCorrect+a.RandomCorrect != v.Correct {
		t.Errorf("split %+v does not partition %d hits of %d targets", a, v.Correct, v.Targets)
	}
	if a.MaskTargets < v.Targets/2 || a.MaskCorrect > a.MaskTargets || a.KeptCorrect > a.KeptTargets || a.RandomCorrect > a.RandomTargets {
		t.Errorf("split %+v of %d targets", a, v.Targets)
	}
}

// The committed bert-mini checkpoint, scored as its manifest was: the
// split by input partitions the manifest's score, and the score at
// [MASK] inputs is far above the best constant prediction's. It also
// pins what the manifest's accuracy is made of (models/base/README.md
// quotes it).
func TestBaseBertMiniSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 256 validation windows")
	}
	dir := filepath.Join("..", "models", "base")
	var ma PretrainManifest
	b, err := os.ReadFile(filepath.Join(dir, "bert-mini.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ma); err != nil {
		t.Fatal(err)
	}
	cfg, err := models.LookupConfig("bert-mini")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.NewTransformer(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.LoadCheckpoint(filepath.Join(dir, "bert-mini.safetensors"), m.Params()); err != nil {
		t.Fatal(err)
	}
	task, err := tasks.Open(tasks.Spec{Dir: filepath.Join("..", "datasets", "data"), Domain: "general", Tokenizer: ma.Corpus.Tokenizer,
		Objective: models.Masked, Ctx: ma.Ctx}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	val, err := validationWindows(task, PretrainOptions{EvalWindows: ma.Validation.Windows, EvalBatch: 32})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scoreBatches(m, val, task.MaskID())
	if err != nil {
		t.Fatal(err)
	}
	if s.Correct != ma.Validation.Correct || s.Targets != ma.Validation.Targets {
		t.Fatalf("scored %d/%d, manifest %d/%d", s.Correct, s.Targets, ma.Validation.Correct, ma.Validation.Targets)
	}
	checkSplit(t, s)
	// The best constant prediction at [MASK] inputs, chosen with
	// hindsight on these very targets: what a model that ignores the
	// context can get there.
	freq := map[int32]int{}
	best := 0
	for _, b := range val {
		for p, in := range b.Inputs {
			if in == task.MaskID() && b.Targets[p] >= 0 {
				freq[b.Targets[p]]++
				best = max(best, freq[b.Targets[p]])
			}
		}
	}
	// The committed model uses the context: at [MASK] inputs it beats
	// the best constant at least twice over (the checkpoint of absolute
	// positions alone, before ALiBi, got 106 against the constant's 109).
	if s.AtMask.MaskCorrect < 2*best {
		t.Errorf("%d of %d right at [MASK] inputs, under twice the best constant prediction's %d: the checkpoint ignores the context",
			s.AtMask.MaskCorrect, s.AtMask.MaskTargets, best)
	}
	t.Logf("%s: %.2f%% overall; at [MASK] inputs %.2f%% (%d/%d; best constant prediction %d/%d), unchanged %d/%d, random %d/%d",
		ma.Checkpoint, 100*s.Accuracy, 100*s.AtMask.MaskAccuracy(), s.AtMask.MaskCorrect, s.AtMask.MaskTargets, best, s.AtMask.MaskTargets,
		s.AtMask.KeptCorrect, s.AtMask.KeptTargets, s.AtMask.RandomCorrect, s.AtMask.RandomTargets)
}

// countWindows counts what package tasks cuts, for both objectives.
func TestCountWindows(t *testing.T) {
	for _, c := range []struct {
		tok string
		obj models.Objective
	}{{datasets.GPT2Tiny, models.NextToken}, {datasets.BERTTiny, models.Masked}} {
		task, err := tasks.Open(tasks.Spec{Dir: filepath.Join("..", "datasets", "data"), Domain: "general", Tokenizer: c.tok, Objective: c.obj, Ctx: 64}, 0)
		if err != nil {
			t.Fatal(err)
		}
		n, err := countWindows(task, datasets.Train)
		task.Close()
		if err != nil || n != task.NumTrain() {
			t.Errorf("%s: countWindows = %d (%v), the task has %d", c.tok, n, err, task.NumTrain())
		}
	}
}

func TestPretrainOptionErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		change func(*PretrainOptions)
		want   string
	}{
		{func(o *PretrainOptions) { o.Model = "gpt5" }, "-model"},
		{func(o *PretrainOptions) { o.Model = "bert-base" }, "custom, gpt2-mini, bert-mini"},
		{func(o *PretrainOptions) { o.Out = "" }, "-out"},
		{func(o *PretrainOptions) { o.Ctx = 129 }, "-ctx 129 exceeds model custom's context of 128"},
		{func(o *PretrainOptions) { o.Steps = -1 }, "-steps -1"},
		{func(o *PretrainOptions) { o.MinLR = 1 }, "-min-lr 1"},
		{func(o *PretrainOptions) { o.Dtype = "F16" }, `-dtype "F16"`},
		{func(o *PretrainOptions) { o.MaskRate = 1.5 }, "-mask-rate 1.5"},
		{func(o *PretrainOptions) { o.Domain = "poetry" }, "poetry"},
	} {
		o := tinyPretrain("custom", dir)
		c.change(&o)
		if _, err := Pretrain(o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}
