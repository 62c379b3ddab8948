package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sleepbench/sleepbench/bench"
)

func init() {
	commands["pretrain"] = command{"train a small model's base checkpoint on the general corpus", runPretrain}
}

const pretrainUsage = `usage: sleepbench pretrain -model custom|gpt2-mini|bert-mini [-out models/base] [flags]

Trains one small model on the general domain's train split (next-token
prediction for decoders, masked tokens for encoders; AdamW, linear
warm-up then cosine), scores it on the validation split and writes
OUT/<model>.safetensors (BF16) and OUT/<model>.manifest.json atomically.
Flags left at 0 take the model's default budget (make pretrain uses
them). The same machine, backend and flags give the same bytes.

flags:`

func runPretrain(args []string) error {
	fs := flag.NewFlagSet("pretrain", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), pretrainUsage)
		fs.PrintDefaults()
	}
	var o bench.PretrainOptions
	fs.StringVar(&o.Model, "model", "", "model to pretrain: custom, gpt2-mini or bert-mini (required)")
	fs.StringVar(&o.Out, "out", filepath.Join("models", "base"), "folder for the checkpoint and its manifest")
	fs.StringVar(&o.Data, "data", filepath.Join("datasets", "data"), "folder of the Arrow files")
	fs.StringVar(&o.Domain, "domain", "general", "corpus domain")
	fs.IntVar(&o.Steps, "steps", 0, "optimiser steps (0 = the model's default)")
	fs.IntVar(&o.Batch, "batch", 0, "rows per step (0 = default)")
	fs.IntVar(&o.Ctx, "ctx", 0, "tokens per row (0 = default)")
	fs.Float64Var(&o.LR, "lr", 0, "peak learning rate (0 = default)")
	fs.Float64Var(&o.MinLR, "min-lr", 0, "final learning rate of the cosine (0 = default)")
	fs.IntVar(&o.Warmup, "warmup", 0, "linear warm-up steps (0 = default)")
	fs.Float64Var(&o.MaskRate, "mask-rate", 0, "encoders: share of positions masked in training batches; validation always masks 15% (0 = default)")
	fs.Float64Var(&o.WeightDecay, "weight-decay", 0, "AdamW weight decay of weight matrices (0 = default)")
	fs.Float64Var(&o.ClipNorm, "clip", 0, "global gradient-norm clip (0 = 1)")
	seed := fs.Uint64("seed", 1, "seed of the initialisation and the data order")
	fs.IntVar(&o.Threads, "threads", 0, "threads: sets GOMAXPROCS (the GEMM's goroutines) and the model's kernels (0 = all cores)")
	fs.IntVar(&o.EvalWindows, "eval-windows", 0, "validation windows scored (0 = 256, at most the split's)")
	fs.IntVar(&o.EvalBatch, "eval-batch", 0, "rows per evaluation batch (0 = 32)")
	fs.IntVar(&o.EvalEvery, "eval-every", 0, "steps between progress evaluations on the validation windows (0 = only at the end)")
	fs.IntVar(&o.LogEvery, "log-every", 0, "steps between progress lines (0 = 50)")
	fs.StringVar(&o.Dtype, "dtype", "BF16", "checkpoint storage: BF16 or F32")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the flag set has printed its help
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (pretrain takes flags only)", fs.Arg(0))
	}
	if o.Model == "" {
		fs.Usage()
		return errors.New("-model is required (custom, gpt2-mini or bert-mini)")
	}
	if *seed == 0 {
		return errors.New("-seed must be positive")
	}
	o.Seed = *seed
	o.Dtype = strings.ToUpper(o.Dtype)
	if o.Threads < 0 {
		return fmt.Errorf("-threads %d must not be negative", o.Threads)
	}
	if o.Threads > 0 {
		// The GEMM runs on GOMAXPROCS goroutines; the command owns the
		// process, so it may set it (library code never does).
		runtime.GOMAXPROCS(o.Threads)
	}
	o.Command = commandLine(os.Args)
	o.Log = os.Stderr
	m, err := bench.Pretrain(o)
	if err != nil {
		return err
	}
	fmt.Printf("%s: validation %s top-1 %.4f, loss %.4f nats/token (%d windows); %d steps, %d tokens; sha256 %s\n",
		filepath.Join(o.Out, m.Checkpoint), m.Objective, m.Validation.Accuracy, m.Validation.Loss, m.Validation.Windows, m.Steps, m.TokensSeen, m.SHA256)
	return nil
}

// commandLine joins args as a shell would read them back: arguments with
// characters special to the shell are single-quoted.
func commandLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
