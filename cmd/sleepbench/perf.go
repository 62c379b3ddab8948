package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sleepbench/sleepbench/bench"
	"github.com/sleepbench/sleepbench/models"
)

func init() {
	commands["perf"] = command{"training speed of the Transformers in Go against PyTorch on this machine", runPerf}
}

// perfResult is one model's measured training speed, in the JSON form
// scripts/perf_torch.py prints.
type perfResult struct {
	Model      string  `json:"model"`
	Batch      int     `json:"batch"`
	Seq        int     `json:"seq"`
	TokensPerS float64 `json:"tokens_per_s"`
	StepMS     float64 `json:"step_ms"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	Steps      int     `json:"steps"`
	Threads    int     `json:"threads"`
	Loss       float64 `json:"loss"`
}

// perfFlags are the settings shared by the Go and PyTorch runs.
type perfFlags struct {
	batch, seq, steps, warmup, threads int
}

func runPerf(args []string) error {
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: sleepbench perf [flags]

Trains each model for -steps steps (after -warmup steps) on random tokens,
in Go with this binary's matrix backend and in PyTorch (scripts/perf_torch.py,
same shapes, float32, same thread count), each model in its own process,
and prints tokens/s, their ratio, GFLOP/s and peak memory.

flags:`)
		fs.PrintDefaults()
	}
	list := fs.String("models", "bert-mini,gpt2-mini,gpt2", "comma-separated model configs")
	var f perfFlags
	fs.IntVar(&f.steps, "steps", 5, "timed training steps per model")
	fs.IntVar(&f.warmup, "warmup", 1, "untimed training steps first")
	fs.IntVar(&f.batch, "batch", 16, "sequences per step")
	fs.IntVar(&f.seq, "seq", 128, "tokens per sequence (at most the config's context)")
	fs.IntVar(&f.threads, "threads", 2, "threads for Go (GOMAXPROCS) and PyTorch (set_num_threads)")
	python := fs.String("torch", "/usr/bin/python3", "Python interpreter with PyTorch; empty skips the PyTorch peer")
	script := fs.String("script", "scripts/perf_torch.py", "the PyTorch peer script")
	child := fs.Bool("child", false, "internal: measure one model in this process and print its result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (perf takes flags only)", fs.Arg(0))
	}
	for _, v := range []struct {
		name string
		val  int
		min  int
	}{{"steps", f.steps, 1}, {"warmup", f.warmup, 0}, {"batch", f.batch, 1}, {"seq", f.seq, 1}, {"threads", f.threads, 1}} {
		if v.val < v.min {
			return fmt.Errorf("flag -%s: %d is below %d", v.name, v.val, v.min)
		}
	}
	var cfgs []models.Config
	for _, name := range strings.Split(*list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		c, err := models.LookupConfig(name)
		if err != nil {
			return fmt.Errorf("flag -models: %w", err)
		}
		if f.seq > c.Ctx {
			return fmt.Errorf("flag -seq: %d exceeds %s's context %d", f.seq, c.Name, c.Ctx)
		}
		cfgs = append(cfgs, c)
	}
	if len(cfgs) == 0 {
		return errors.New("flag -models: no model named")
	}

	if *child {
		if len(cfgs) != 1 {
			return fmt.Errorf("flag -child: measures one model, got %d", len(cfgs))
		}
		r, err := measureGo(cfgs[0], f)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(r)
	}

	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary to run each model in its own process: %w", err)
	}
	backend := bench.BackendLabel()
	fmt.Printf("sleepbench perf: backend %s, %d threads, batch %d × seq %d, %d steps after %d warm-up\n",
		backend, f.threads, f.batch, f.seq, f.steps, f.warmup)
	type row struct {
		cfg      models.Config
		goRes    perfResult
		torchRes *perfResult
	}
	var rows []row
	torchNote := ""
	for _, c := range cfgs {
		fmt.Fprintf(os.Stderr, "perf: %s in Go...\n", c.Name)
		g, err := runChild(self, c.Name, f)
		if err != nil {
			return fmt.Errorf("%s in Go: %w", c.Name, err)
		}
		r := row{cfg: c, goRes: g}
		if *python != "" && torchNote == "" {
			fmt.Fprintf(os.Stderr, "perf: %s in PyTorch...\n", c.Name)
			t, note, err := runTorch(*python, *script, c.Name, f)
			switch {
			case err != nil:
				return fmt.Errorf("%s in PyTorch: %w", c.Name, err)
			case note != "":
				torchNote = note
			default:
				r.torchRes = &t
			}
		}
		rows = append(rows, r)
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "model\tbackend\ttokens/s Go\ttokens/s PyTorch\tGo/PyTorch\tGFLOP/s Go\tGFLOP/s PyTorch\tstep ms Go\tstep ms PyTorch\tpeak RSS MB Go\tpeak RSS MB PyTorch\t")
	for _, r := range rows {
		fl := stepFLOPs(r.cfg, f.batch, f.seq, targetsPerStep(r.cfg, f.batch, f.seq))
		g := r.goRes
		tTok, ratio, tGF, tMS, tRSS := "n/a", "n/a", "n/a", "n/a", "n/a"
		if t := r.torchRes; t != nil {
			tTok = fmt.Sprintf("%.0f", t.TokensPerS)
			ratio = fmt.Sprintf("%.2f", g.TokensPerS/t.TokensPerS)
			tGF = fmt.Sprintf("%.1f", fl/(t.StepMS/1e3)/1e9)
			tMS = fmt.Sprintf("%.1f", t.StepMS)
			tRSS = fmt.Sprintf("%.0f", t.PeakRSSMB)
		}
		fmt.Fprintf(w, "%s\t%s\t%.0f\t%s\t%s\t%.1f\t%s\t%.1f\t%s\t%.0f\t%s\t\n", r.cfg.Name, models.BackendName,
			g.TokensPerS, tTok, ratio, fl/(g.StepMS/1e3)/1e9, tGF, g.StepMS, tMS, g.PeakRSSMB, tRSS)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Println("\nGFLOP/s counts 2 FLOPs per multiply-add of the matrix products (forward and backward = 3× forward),\nthe LM/MLM head only at predicted positions; both columns use the same count.")
	switch {
	case *python == "":
		fmt.Println("PyTorch peer skipped (-torch is empty).")
	case torchNote != "":
		fmt.Printf("PyTorch peer not run: %s\n", torchNote)
	}
	return nil
}

// runChild measures one model in a fresh process of this binary, so that
// its peak RSS is its own and GOMAXPROCS is the thread count.
func runChild(self, name string, f perfFlags) (perfResult, error) {
	cmd := exec.Command(self, "perf", "-child", "-models", name,
		"-batch", strconv.Itoa(f.batch), "-seq", strconv.Itoa(f.seq),
		"-steps", strconv.Itoa(f.steps), "-warmup", strconv.Itoa(f.warmup),
		"-threads", strconv.Itoa(f.threads))
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(f.threads))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return perfResult{}, fmt.Errorf("running %s: %w", strings.Join(cmd.Args, " "), err)
	}
	rs, err := parseResults(bytes.NewReader(out))
	if err != nil {
		return perfResult{}, fmt.Errorf("output of %s: %w", strings.Join(cmd.Args, " "), err)
	}
	if len(rs) != 1 || rs[0].Model != name {
		return perfResult{}, fmt.Errorf("output of %s: want one result for %s, got %d", strings.Join(cmd.Args, " "), name, len(rs))
	}
	return rs[0], nil
}

// torchMissing is perf_torch.py's exit code when PyTorch cannot be imported.
const torchMissing = 3

// runTorch runs the PyTorch peer for one model. A missing interpreter or
// PyTorch gives a note instead of an error.
func runTorch(python, script, name string, f perfFlags) (res perfResult, note string, err error) {
	if _, err := os.Stat(script); err != nil {
		return res, "", fmt.Errorf("flag -script: %w (run from the repository root or set -script)", err)
	}
	if _, err := exec.LookPath(python); err != nil {
		return res, fmt.Sprintf("flag -torch: %v", err), nil
	}
	shape, err := torchShape(name)
	if err != nil {
		return res, "", err
	}
	cmd := exec.Command(python, "-B", script, "--models", name, "--shape", shape,
		"--batch", strconv.Itoa(f.batch), "--seq", strconv.Itoa(f.seq),
		"--steps", strconv.Itoa(f.steps), "--warmup", strconv.Itoa(f.warmup),
		"--threads", strconv.Itoa(f.threads))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == torchMissing {
		return res, strings.TrimSpace(stderr.String()), nil
	}
	if err != nil {
		return res, "", fmt.Errorf("running %s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	rs, err := parseResults(bytes.NewReader(out))
	if err != nil {
		return res, "", fmt.Errorf("output of %s: %w", script, err)
	}
	if len(rs) != 1 || rs[0].Model != name {
		return res, "", fmt.Errorf("output of %s: want one result for %s, got %d", script, name, len(rs))
	}
	return rs[0], "", nil
}

// torchShape is the --shape argument of perf_torch.py for a built-in
// config: the peer builds exactly the Go model's shape.
func torchShape(name string) (string, error) {
	c, err := models.LookupConfig(name)
	if err != nil {
		return "", err
	}
	arch := "decoder"
	if c.Arch == models.Encoder {
		arch = "encoder"
	}
	b, err := json.Marshal(map[string]any{
		"arch": arch, "layers": c.Layers, "d_model": c.DModel, "heads": c.Heads, "d_ff": c.DFF,
		"ctx": c.Ctx, "vocab": c.Vocab, "pre_ln": c.PreLN || c.Arch == models.Decoder, "alibi": c.ALiBi,
	})
	return string(b), err
}

// parseResults reads one JSON result per non-empty line.
func parseResults(r io.Reader) ([]perfResult, error) {
	var rs []perfResult
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var p perfResult
		if err := json.Unmarshal([]byte(text), &p); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if p.Model == "" || !(p.TokensPerS > 0) || !(p.StepMS > 0) {
			return nil, fmt.Errorf("line %d: incomplete result %q", line, text)
		}
		rs = append(rs, p)
	}
	return rs, sc.Err()
}

// maskFraction is the share of positions an MLM batch predicts, as in
// BERT and scripts/perf_torch.py.
const maskFraction = 0.15

// maskID is BERT's [MASK] token.
const maskID = 103

// targetsPerStep is the number of predicted positions in a batch: all of
// them for a decoder, round(15% of each row) for an encoder.
func targetsPerStep(c models.Config, batch, seq int) int {
	if c.Arch == models.Encoder {
		return batch * max(1, int(math.Round(maskFraction*float64(seq))))
	}
	return batch * seq
}

// stepFLOPs is the training cost of one step counted as
// models.Config.FLOPsPerToken counts it, for sequences of seq tokens and
// the given number of predicted positions: 2 FLOPs per multiply-add,
// backward = 2× forward; per token and layer 4·D² (QKV, projection) and
// 2·D·F (MLP) weights and 4·T·D for the attention products, plus per
// predicted position the head (2·D·V, and the encoder's D×D transform).
func stepFLOPs(c models.Config, batch, seq, targets int) float64 {
	D, F, L, T, V := float64(c.DModel), float64(c.DFF), float64(c.Layers), float64(seq), float64(c.Vocab)
	body := 3 * L * (2*(4*D*D+2*D*F) + 4*T*D)
	head := 2 * D * V
	if c.Arch == models.Encoder {
		head += 2 * D * D
	}
	return float64(batch*seq)*body + float64(targets)*3*head
}

// perfBatch builds a training batch of random tokens from rng: next-token
// prediction for a decoder, 15% masked positions per row for an encoder.
func perfBatch(c models.Config, batch, seq int, rng *rand.Rand) *models.Batch {
	b := &models.Batch{B: batch, T: seq, Inputs: make([]int32, batch*seq), Targets: make([]int32, batch*seq)}
	if c.Arch == models.Decoder {
		b.Objective = models.NextToken
		for r := 0; r < batch; r++ {
			row := make([]int32, seq+1)
			for i := range row {
				row[i] = int32(rng.IntN(c.Vocab))
			}
			copy(b.Inputs[r*seq:], row[:seq])
			copy(b.Targets[r*seq:], row[1:])
		}
		return b
	}
	b.Objective = models.Masked
	n := targetsPerStep(c, 1, seq)
	for i := range b.Inputs {
		b.Inputs[i] = int32(rng.IntN(c.Vocab))
		b.Targets[i] = -1
	}
	for r := 0; r < batch; r++ {
		for _, p := range rng.Perm(seq)[:n] {
			i := r*seq + p
			b.Targets[i] = b.Inputs[i]
			if maskID < c.Vocab {
				b.Inputs[i] = maskID
			}
		}
	}
	return b
}

// measureGo trains a fresh model of shape c for f.warmup then f.steps
// steps (forward, backward, AdamW) and reports its speed and this
// process's peak RSS.
func measureGo(c models.Config, f perfFlags) (perfResult, error) {
	c.Threads = f.threads
	m, err := models.NewTransformer(c, 1)
	if err != nil {
		return perfResult{}, err
	}
	opt := models.NewAdamW(m.Params(), models.DefaultAdamW)
	rng := rand.New(rand.NewPCG(1, 2))
	batches := []*models.Batch{perfBatch(c, f.batch, f.seq, rng), perfBatch(c, f.batch, f.seq, rng)}
	var loss float64
	step := func(i int) error {
		l, err := m.ForwardBackward(batches[i%len(batches)], models.ForwardOptions{})
		if err != nil {
			return fmt.Errorf("%s step %d: %w", c.Name, i, err)
		}
		opt.Step(m.Params(), m.Grads(), 1e-4)
		loss = l
		return nil
	}
	for i := 0; i < f.warmup; i++ {
		if err := step(i); err != nil {
			return perfResult{}, err
		}
	}
	start := time.Now()
	for i := 0; i < f.steps; i++ {
		if err := step(i); err != nil {
			return perfResult{}, err
		}
	}
	el := time.Since(start).Seconds()
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return perfResult{}, fmt.Errorf("%s: loss is %v", c.Name, loss)
	}
	rss, err := peakRSSMB()
	if err != nil {
		return perfResult{}, err
	}
	return perfResult{
		Model: c.Name, Batch: f.batch, Seq: f.seq,
		TokensPerS: float64(f.batch*f.seq*f.steps) / el,
		StepMS:     el / float64(f.steps) * 1e3,
		PeakRSSMB:  rss, Steps: f.steps, Threads: f.threads, Loss: loss,
	}, nil
}

// peakRSSMB reads this process's peak resident set (VmHWM) in MiB.
func peakRSSMB() (float64, error) {
	const status = "/proc/self/status"
	data, err := os.ReadFile(status)
	if err != nil {
		return 0, fmt.Errorf("reading peak memory: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(v)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("%s: unexpected VmHWM line %q", status, line)
			}
			kb, err := strconv.ParseFloat(fields[0], 64)
			if err != nil {
				return 0, fmt.Errorf("%s: VmHWM: %w", status, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("%s: no VmHWM line", status)
}
