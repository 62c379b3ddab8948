package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/models/gemm"
	"github.com/sleepbench/sleepbench/tasks"
)

// Pretraining base checkpoints (`sleepbench pretrain`): one small model
// trained on the general domain's train split (next-token prediction for
// a decoder, masked tokens for an encoder) with the harness's own Loop,
// AdamW and a warm-up + cosine schedule, scored on the validation split,
// and written as <out>/<model>.safetensors (BF16 by default; see
// models.SaveCheckpoint) with <out>/<model>.manifest.json beside it.
//
// A base checkpoint holds the backbone and the LM head (models.IsClassHead
// explains what is left out). The pooler of an encoder is in the
// backbone but masked-token training never reaches it: it is saved at its
// seeded initialisation.
//
// Everything is deterministic from the options: the model's
// initialisation, the data order and the masks come from Seed, and the
// validation windows and their masks from a fixed stream, so one machine
// and backend give the same checkpoint and manifest bytes on every run
// (the thread count does not matter; see package models).

// PretrainOptions configures Pretrain. Zero fields take the model's
// PretrainDefaults (and the defaults named below).
type PretrainOptions struct {
	Model  string // built-in config: custom, gpt2-mini or bert-mini
	Data   string // folder of the Arrow files (default datasets/data)
	Domain string // corpus domain (default general)
	Out    string // folder for the checkpoint and manifest (required)

	Steps  int     // optimiser steps
	Batch  int     // rows per step
	Ctx    int     // tokens per row
	LR     float64 // peak learning rate
	MinLR  float64 // final learning rate of the cosine
	Warmup int     // linear warm-up steps
	// MaskRate is the share of positions masked in an encoder's training
	// batches (the validation windows always mask tasks.MaskRate, 15%).
	MaskRate float64

	WeightDecay float64 // AdamW weight decay of matrices
	ClipNorm    float64 // global gradient-norm clip

	Seed    uint64 // initialisation and data order (default 1)
	Threads int    // model threads (0 = GOMAXPROCS)

	// EvalWindows is the number of distinct validation windows scored
	// (default 256; at most the split's); EvalBatch the rows per
	// evaluation batch (default 32); EvalEvery the steps between
	// progress evaluations (0 = only at the end).
	EvalWindows, EvalBatch, EvalEvery int

	// Dtype stores the checkpoint as models.BF16 (default) or models.F32.
	Dtype string
	// Command is the command line recorded in the manifest.
	Command string
	// Log receives progress lines (nil discards them); LogEvery is the
	// steps between them (default 50).
	Log      io.Writer
	LogEvery int
}

// PretrainBudget is a model's default pretraining budget.
type PretrainBudget struct {
	Steps, Batch, Ctx int
	LR, MinLR         float64
	Warmup            int
	WeightDecay       float64
	MaskRate          float64 // encoders: training mask rate (0 = tasks.MaskRate)
}

// PretrainDefaults returns the default budget of a small model: the
// budget `make pretrain` uses. The measurements behind it are in
// models/base/README.md (each checkpoint's manifest has its own
// validation score and curve).
func PretrainDefaults(model string) (PretrainBudget, error) {
	switch model {
	case "custom":
		return PretrainBudget{Steps: 5000, Batch: 16, Ctx: 128, LR: 2e-3, MinLR: 1e-4, Warmup: 200, WeightDecay: 0.01}, nil
	case "gpt2-mini":
		return PretrainBudget{Steps: 4000, Batch: 16, Ctx: 128, LR: 1e-3, MinLR: 5e-5, Warmup: 200, WeightDecay: 0.01}, nil
	case "bert-mini":
		return PretrainBudget{Steps: 4000, Batch: 16, Ctx: 128, LR: 1e-3, MinLR: 5e-5, Warmup: 300, WeightDecay: 0.01, MaskRate: 0.4}, nil
	}
	return PretrainBudget{}, fmt.Errorf("no pretraining budget for model %q (valid: custom, gpt2-mini, bert-mini)", model)
}

// PretrainScore is a validation score: top-1 accuracy and mean
// cross-entropy (nats) over the targets of the scored windows.
type PretrainScore struct {
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
	Correct  int     `json:"correct"`
	Targets  int     `json:"targets"`
	Windows  int     `json:"windows"`
	// Masked-token models only: the targets split by what their input
	// position held, as BERT's 80/10/10 rule left it: [MASK] (the
	// prediction from context alone), the token itself unchanged (which
	// a model that copies its input gets right), or a random token.
	AtMask MaskedSplit `json:"by_input,omitzero"`
}

// MaskedSplit counts a masked-token score's targets and correct
// predictions by the input at the target position.
type MaskedSplit struct {
	MaskCorrect   int `json:"mask_correct"`
	MaskTargets   int `json:"mask_targets"`
	KeptCorrect   int `json:"kept_correct"`
	KeptTargets   int `json:"kept_targets"`
	RandomCorrect int `json:"random_correct"`
	RandomTargets int `json:"random_targets"`
}

// describe is the split for a progress line ("" when there is none).
func (s MaskedSplit) describe() string {
	if s.MaskTargets+s.KeptTargets+s.RandomTargets == 0 {
		return ""
	}
	return fmt.Sprintf("; at [MASK] inputs %d/%d, unchanged %d/%d, random %d/%d",
		s.MaskCorrect, s.MaskTargets, s.KeptCorrect, s.KeptTargets, s.RandomCorrect, s.RandomTargets)
}

// MaskAccuracy is the top-1 accuracy at [MASK] inputs (0 without any).
func (s MaskedSplit) MaskAccuracy() float64 {
	if s.MaskTargets == 0 {
		return 0
	}
	return float64(s.MaskCorrect) / float64(s.MaskTargets)
}

// PretrainPoint is a validation score during training.
type PretrainPoint struct {
	Step int `json:"step"`
	PretrainScore
}

// CorpusFile is one data file a checkpoint was made from.
type CorpusFile struct {
	Path   string `json:"path"` // as given (relative to the working folder)
	SHA256 string `json:"sha256"`
}

// PretrainManifest describes a base checkpoint: what was trained on what,
// for how long, how well it scores, and how to make it again.
type PretrainManifest struct {
	Model      string `json:"model"`
	Checkpoint string `json:"checkpoint"` // file name, beside the manifest
	SHA256     string `json:"sha256"`     // of the checkpoint file
	Dtype      string `json:"dtype"`
	Params     int    `json:"params"`
	Objective  string `json:"objective"`
	// MaskRate is the training mask rate of a masked-token model.
	MaskRate float64 `json:"train_mask_rate,omitempty"`
	Corpus   struct {
		Domain    string       `json:"domain"`
		Source    string       `json:"source"` // package@version
		Licence   string       `json:"licence"`
		Tokenizer string       `json:"tokenizer"`
		Files     []CorpusFile `json:"files"`
	} `json:"corpus"`
	Steps       int     `json:"steps"`
	Batch       int     `json:"batch"`
	Ctx         int     `json:"ctx"`
	TokensSeen  int64   `json:"tokens_seen"`
	Epochs      float64 `json:"epochs"` // passes over the train windows
	Seed        uint64  `json:"seed"`
	Optimizer   string  `json:"optimizer"`
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
	Schedule    struct {
		Kind   string  `json:"kind"`
		Peak   float64 `json:"peak_lr"`
		Min    float64 `json:"min_lr"`
		Warmup int     `json:"warmup_steps"`
		Total  int     `json:"total_steps"`
	} `json:"lr_schedule"`
	FinalTrainLoss float64 `json:"final_train_loss"` // mean over the last 50 steps
	// Curve holds the progress evaluations (every EvalEvery steps) on the
	// same validation windows, float32 weights.
	Curve []PretrainPoint `json:"validation_curve,omitempty"`
	// Validation scores the checkpoint as stored (after rounding to its
	// dtype); ValidationF32 the float32 weights before saving.
	Validation    PretrainScore `json:"validation"`
	ValidationF32 PretrainScore `json:"validation_f32"`
	Backend       string        `json:"backend"`
	Command       string        `json:"command"`
}

// Pretrain trains opt.Model on the corpus, writes the checkpoint and its
// manifest atomically, and returns the manifest.
func Pretrain(opt PretrainOptions) (*PretrainManifest, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	log := opt.Log
	info, err := Describe(opt.Model)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	cfg, err := models.LookupConfig(opt.Model)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if opt.Ctx > cfg.Ctx {
		return nil, fmt.Errorf("pretrain: -ctx %d exceeds model %s's context of %d", opt.Ctx, opt.Model, cfg.Ctx)
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("pretrain: -out: %w", err)
	}
	cfg.Threads = opt.Threads
	model, err := models.NewTransformer(cfg, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	spec := tasks.Spec{Dir: opt.Data, Domain: opt.Domain, Tokenizer: info.Tokenizer, Objective: info.LM, Ctx: opt.Ctx}
	if info.LM == models.Masked {
		spec.TrainMaskRate = opt.MaskRate
	}
	task, err := tasks.Open(spec, 0)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	defer task.Close()
	maskID := int32(-1)
	if info.LM == models.Masked {
		maskID = task.MaskID()
	}
	val, err := validationWindows(task, opt)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}

	set := Settings{Batch: opt.Batch, EvalBatch: opt.EvalBatch, LR: opt.LR, MinLR: opt.MinLR, Warmup: opt.Warmup,
		Schedule: Cosine, ClipNorm: opt.ClipNorm}
	adam := models.DefaultAdamW
	adam.WeightDecay = opt.WeightDecay
	loop := NewLoop("pretrain "+opt.Model, model, methods.Base{}, models.NewAdamW(model.Params(), adam), set, opt.Seed)
	var (
		recent   []float64 // losses of the last 50 steps
		start    = time.Now()
		lastT    = start
		lastTok  int64
		evalErr  error
		evalTime time.Duration
		curve    []PretrainPoint
	)
	loop.Report = func(p Progress) {
		recent = append(recent, p.Loss)
		if len(recent) > 50 {
			recent = recent[1:]
		}
		if p.Step%opt.LogEvery == 0 || p.Step == p.Steps {
			now := time.Now()
			rate := float64(p.Tokens-lastTok) / now.Sub(lastT).Seconds()
			fmt.Fprintf(log, "pretrain %s: step %d/%d loss %.4f (mean of last %d %.4f) lr %.3g tokens %d %.0f tokens/s\n",
				opt.Model, p.Step, p.Steps, p.Loss, len(recent), meanOf(recent), set.Rate(p.Step-1, p.Steps), p.Tokens, rate)
			lastT, lastTok = now, p.Tokens
		}
		if opt.EvalEvery > 0 && p.Step%opt.EvalEvery == 0 && p.Step < p.Steps && evalErr == nil {
			t0 := time.Now()
			var s PretrainScore
			if s, evalErr = scoreBatches(model, val, maskID); evalErr == nil {
				curve = append(curve, PretrainPoint{p.Step, s})
				fmt.Fprintf(log, "pretrain %s: step %d validation accuracy %.4f loss %.4f (%d windows)%s\n", opt.Model, p.Step, s.Accuracy, s.Loss, s.Windows, s.AtMask.describe())
			}
			evalTime += time.Since(t0)
			lastT = lastT.Add(time.Since(t0)) // keep evaluation out of tokens/s
		}
	}
	if err := loop.Train(Period{Task: task, Steps: opt.Steps, Label: opt.Domain + " (pretraining)"}); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if evalErr != nil {
		return nil, fmt.Errorf("pretrain: validation: %w", evalErr)
	}
	train := time.Since(start) - evalTime
	fmt.Fprintf(log, "pretrain %s: trained %d steps, %d tokens in %s (%.0f tokens/s, evaluation excluded)\n",
		opt.Model, loop.Steps, loop.Tokens, train.Round(time.Second), float64(loop.Tokens)/train.Seconds())

	m := &PretrainManifest{Model: opt.Model, Checkpoint: opt.Model + ".safetensors", Dtype: opt.Dtype,
		Params: model.Params().Len(), Objective: info.LM.String(), Steps: loop.Steps, Batch: opt.Batch, Ctx: opt.Ctx,
		TokensSeen: loop.Tokens, Epochs: float64(opt.Steps*opt.Batch) / float64(task.NumTrain()), Seed: opt.Seed,
		Optimizer:   fmt.Sprintf("adamw(beta1=%g,beta2=%g,eps=%g)", adam.Beta1, adam.Beta2, adam.Eps),
		WeightDecay: opt.WeightDecay, ClipNorm: opt.ClipNorm, FinalTrainLoss: meanOf(recent),
		Curve: curve, Backend: BackendLabel(), Command: opt.Command}
	if info.LM == models.Masked {
		m.MaskRate = opt.MaskRate
	}
	meta := task.Meta()
	m.Corpus.Domain, m.Corpus.Source, m.Corpus.Licence, m.Corpus.Tokenizer = opt.Domain, meta.Source, meta.Licence, info.Tokenizer
	for _, s := range datasets.Splits {
		path := datasets.FilePath(opt.Data, info.Tokenizer, opt.Domain, s)
		sum, err := fileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("pretrain: %w", err)
		}
		m.Corpus.Files = append(m.Corpus.Files, CorpusFile{Path: filepath.ToSlash(path), SHA256: sum})
	}
	m.Schedule.Kind, m.Schedule.Peak, m.Schedule.Min, m.Schedule.Warmup, m.Schedule.Total = Cosine, opt.LR, opt.MinLR, opt.Warmup, opt.Steps

	if m.ValidationF32, err = scoreBatches(model, val, maskID); err != nil {
		return nil, fmt.Errorf("pretrain: validation: %w", err)
	}
	ckpt := filepath.Join(opt.Out, m.Checkpoint)
	if err := models.SaveCheckpoint(ckpt, model.Params(), opt.Dtype, map[string]string{
		"model": opt.Model, "corpus": opt.Domain + " " + meta.Source, "steps": fmt.Sprint(loop.Steps),
		"tokens": fmt.Sprint(loop.Tokens), "seed": fmt.Sprint(opt.Seed), "manifest": opt.Model + ".manifest.json",
		"attention_bias": model.Config().AttentionBias(),
	}); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	// Score the checkpoint as a run will load it.
	if _, err := models.LoadCheckpoint(ckpt, model.Params()); err != nil {
		return nil, fmt.Errorf("pretrain: reading back: %w", err)
	}
	if m.Validation, err = scoreBatches(model, val, maskID); err != nil {
		return nil, fmt.Errorf("pretrain: validation: %w", err)
	}
	if m.SHA256, err = fileSHA256(ckpt); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("pretrain: manifest: %w", err)
	}
	if err := writeFile(filepath.Join(opt.Out, opt.Model+".manifest.json"), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	fmt.Fprintf(log, "pretrain %s: validation accuracy %.4f loss %.4f (%s; float32 before saving: %.4f, %.4f)%s -> %s\n",
		opt.Model, m.Validation.Accuracy, m.Validation.Loss, opt.Dtype, m.ValidationF32.Accuracy, m.ValidationF32.Loss, m.Validation.AtMask.describe(), ckpt)
	return m, nil
}

// fill applies the defaults and checks the options.
func (o *PretrainOptions) fill() error {
	if o.Out == "" {
		return errors.New("pretrain: no output folder (-out)")
	}
	d, err := PretrainDefaults(o.Model)
	if err != nil {
		return fmt.Errorf("pretrain: -model: %w", err)
	}
	def := func(x *int, v int) {
		if *x == 0 {
			*x = v
		}
	}
	deff := func(x *float64, v float64) {
		if *x == 0 {
			*x = v
		}
	}
	def(&o.Steps, d.Steps)
	def(&o.Batch, d.Batch)
	def(&o.Ctx, d.Ctx)
	// The default warm-up takes at most a tenth of a shorter run.
	def(&o.Warmup, min(d.Warmup, max(1, o.Steps/10)))
	deff(&o.LR, d.LR)
	deff(&o.MinLR, d.MinLR)
	deff(&o.WeightDecay, d.WeightDecay)
	deff(&o.MaskRate, d.MaskRate)
	deff(&o.MaskRate, tasks.MaskRate)
	deff(&o.ClipNorm, 1)
	def(&o.EvalWindows, 256)
	def(&o.EvalBatch, 32)
	def(&o.LogEvery, 50)
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Data == "" {
		o.Data = filepath.Join("datasets", "data")
	}
	if o.Domain == "" {
		o.Domain = datasets.DomainGeneral
	}
	if o.Dtype == "" {
		o.Dtype = models.BF16
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	switch {
	case o.Steps < 1, o.Batch < 1, o.EvalWindows < 1, o.EvalBatch < 1, o.LogEvery < 1:
		return fmt.Errorf("pretrain: -steps %d, -batch %d, -eval-windows %d, -eval-batch %d and -log-every %d must be positive",
			o.Steps, o.Batch, o.EvalWindows, o.EvalBatch, o.LogEvery)
	case o.Warmup < 0 || o.EvalEvery < 0 || o.Threads < 0:
		return fmt.Errorf("pretrain: -warmup %d, -eval-every %d and -threads %d must not be negative", o.Warmup, o.EvalEvery, o.Threads)
	case !(o.LR > 0) || o.MinLR < 0 || o.MinLR > o.LR:
		return fmt.Errorf("pretrain: -lr %g must be positive and -min-lr %g between 0 and it", o.LR, o.MinLR)
	case !(o.MaskRate > 0 && o.MaskRate <= 1):
		return fmt.Errorf("pretrain: -mask-rate %g outside (0, 1]", o.MaskRate)
	case o.Dtype != models.BF16 && o.Dtype != models.F32:
		return fmt.Errorf("pretrain: -dtype %q: want %s or %s", o.Dtype, models.BF16, models.F32)
	}
	return nil
}

// BackendLabel names the matrix backend and, for package gemm, the
// kernel this CPU runs ("go-asm (avx2 kernel)"), for manifests and for
// every time a command reports.
func BackendLabel() string {
	if k := gemmKernel(); k != "" {
		return models.BackendName + " (" + k + " kernel)"
	}
	return models.BackendName
}

// gemmKernel names package gemm's kernel, or "" for another backend.
func gemmKernel() string {
	if models.BackendName == "go-asm" {
		return gemm.KernelName()
	}
	return ""
}

// fileSHA256 is the hex SHA-256 of a file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
