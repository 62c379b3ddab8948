package models

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// lmBatch cuts B windows of T+1 bytes at random offsets of text into a
// next-token batch (ids are bytes, vocabulary 256).
func lmBatch(r *rand.Rand, text []byte, B, T int) *Batch {
	b := &Batch{Objective: NextToken, B: B, T: T, Inputs: make([]int32, B*T), Targets: make([]int32, B*T)}
	for row := 0; row < B; row++ {
		o := r.IntN(len(text) - T - 1)
		for t := 0; t < T; t++ {
			b.Inputs[row*T+t] = int32(text[o+t])
			b.Targets[row*T+t] = int32(text[o+t+1])
		}
	}
	return b
}

// mlmBatch masks about 15% of positions of random windows (id 0 stands
// for [MASK]); rows get random lengths so that padding is exercised.
func mlmBatch(r *rand.Rand, text []byte, B, T int) *Batch {
	b := lmBatch(r, text, B, T)
	b.Objective = Masked
	b.Lengths = make([]int, B)
	for row := range b.Lengths {
		b.Lengths[row] = T/2 + r.IntN(T/2+1)
	}
	for n := range b.Targets {
		b.Targets[n] = -1
		if n%T < b.Lengths[n/T] && r.Float64() < 0.15 {
			b.Targets[n] = b.Inputs[n]
			b.Inputs[n] = 0
		}
	}
	return b
}

// TestDeterminism trains twice from one seed, with noise, AdamW and
// clipping, and demands bit-identical losses and parameters; a third run
// with a different thread count must agree too, since no kernel's result
// depends on its partitioning.
func TestDeterminism(t *testing.T) {
	text, err := os.ReadFile("testdata/opticks-queries.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []Arch{Decoder, Encoder} {
		run := func(threads int) ([]float64, []float32) {
			cfg := Config{Name: "det", Arch: arch, Layers: 2, DModel: 32, Heads: 4, DFF: 64, Ctx: 16, Vocab: 256, Threads: threads}
			m, err := NewTransformer(cfg, 123)
			if err != nil {
				t.Fatal(err)
			}
			o := NewAdamW(m.Params(), DefaultAdamW)
			r := rand.New(rand.NewPCG(5, 6))
			var losses []float64
			for step := 0; step < 6; step++ {
				var b *Batch
				if arch == Decoder {
					b = lmBatch(r, text, 4, 16)
				} else {
					b = mlmBatch(r, text, 4, 16)
				}
				opt := ForwardOptions{EmbedNoise: 0.1, AttnNoise: 0.2, RNG: r}
				l, err := m.ForwardBackward(b, opt)
				if err != nil {
					t.Fatal(err)
				}
				ClipGradNorm(m.Grads(), 1)
				o.Step(m.Params(), m.Grads(), 1e-3)
				losses = append(losses, l)
			}
			return losses, append([]float32(nil), m.Params().Data...)
		}
		l1, p1 := run(2)
		l2, p2 := run(2)
		l3, p3 := run(1)
		for i := range l1 {
			if l1[i] != l2[i] || l1[i] != l3[i] {
				t.Errorf("%v step %d: losses %v %v %v", arch, i, l1[i], l2[i], l3[i])
			}
		}
		if !equal32(p1, p2) || !equal32(p1, p3) {
			t.Errorf("%v: parameters differ between runs with one seed", arch)
		}
		if l1[0] == l1[len(l1)-1] {
			t.Errorf("%v: training did not change the loss", arch)
		}
		t.Logf("%v: 3 runs × 6 steps bit-identical; losses %.5f → %.5f", arch, l1[0], l1[len(l1)-1])
	}
}

// TestLearnsText trains a tiny byte-level decoder on 17 KB of Newton's
// Opticks and checks the held-out loss against ln 256 (uniform) and the
// unigram cross-entropy (what byte frequencies alone give).
func TestLearnsText(t *testing.T) {
	text, err := os.ReadFile("testdata/opticks-queries.txt")
	if err != nil {
		t.Fatal(err)
	}
	cut := len(text) * 85 / 100
	train, held := text[:cut], text[cut:]
	const T = 64
	cfg := Config{Name: "bytes", Arch: Decoder, Layers: 2, DModel: 64, Heads: 4, DFF: 256, Ctx: T, Vocab: 256}
	m, err := NewTransformer(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Held-out: consecutive windows.
	var evals []*Batch
	for o := 0; o+T+1 <= len(held); o += T {
		b := &Batch{Objective: NextToken, B: 1, T: T, Inputs: make([]int32, T), Targets: make([]int32, T)}
		for i := 0; i < T; i++ {
			b.Inputs[i], b.Targets[i] = int32(held[o+i]), int32(held[o+i+1])
		}
		evals = append(evals, b)
	}
	heldLoss := func() (float64, float64) {
		var s Score
		for _, b := range evals {
			e, err := m.Evaluate(b)
			if err != nil {
				t.Fatal(err)
			}
			s.Correct += e.Correct
			s.Total += e.Total
			s.LossSum += e.LossSum
		}
		return s.LossSum / float64(s.Total), float64(s.Correct) / float64(s.Total)
	}
	// Unigram cross-entropy of the held-out bytes under add-one-smoothed
	// training frequencies.
	var freq [256]float64
	for _, c := range train {
		freq[c]++
	}
	uni := 0.0
	n := 0
	for _, b := range evals {
		for _, c := range b.Targets {
			uni -= math.Log((freq[c] + 1) / (float64(len(train)) + 256))
			n++
		}
	}
	uni /= float64(n)

	start, _ := heldLoss()
	const steps = 300
	o := NewAdamW(m.Params(), DefaultAdamW)
	s := Schedule{Warmup: 20, Total: steps, Peak: 3e-3, Min: 3e-4}
	r := rand.New(rand.NewPCG(1, 2))
	var loss float64
	for step := 0; step < steps; step++ {
		loss, err = m.ForwardBackward(lmBatch(r, train, 16, T), ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ClipGradNorm(m.Grads(), 1)
		o.Step(m.Params(), m.Grads(), s.LR(step))
	}
	end, acc := heldLoss()
	t.Logf("held-out loss %.3f → %.3f nats/byte after %d steps (train batch %.3f; top-1 %.1f%%); ln 256 = %.3f, unigram %.3f",
		start, end, steps, loss, 100*acc, math.Log(256), uni)
	if math.Abs(start-math.Log(256)) > 0.1 {
		t.Errorf("initial held-out loss %.3f, want ≈ ln 256 = %.3f", start, math.Log(256))
	}
	if end > 0.5*math.Log(256) || end > uni-0.3 {
		t.Errorf("held-out loss %.3f: want below %.3f (half of ln 256) and below the unigram %.3f by 0.3", end, 0.5*math.Log(256), uni)
	}
}

// peakRSS reads the process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// TestBigConfigs builds bert-base and gpt2-medium and runs one full
// training step (batch 1, full context, AdamW) on each, checking the loss
// is finite and the peak memory under 24 GiB.
func TestBigConfigs(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy: builds the two largest configs")
	}
	for _, name := range []string{"bert-base", "gpt2-medium"} {
		cfg, _ := LookupConfig(name)
		m, err := NewTransformer(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 1))
		T := cfg.Ctx
		b := &Batch{B: 1, T: T, Inputs: make([]int32, T), Targets: make([]int32, T)}
		for i := range b.Inputs {
			b.Inputs[i] = int32(r.IntN(cfg.Vocab))
			b.Targets[i] = int32(r.IntN(cfg.Vocab))
		}
		if cfg.Arch == Decoder {
			b.Objective = NextToken
		} else {
			b.Objective = Masked
			for i := range b.Targets {
				if i%7 != 3 {
					b.Targets[i] = -1
				}
			}
		}
		o := NewAdamW(m.Params(), DefaultAdamW)
		loss, err := m.ForwardBackward(b, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o.Step(m.Params(), m.Grads(), 1e-4)
		norm := ClipGradNorm(m.Grads(), math.Inf(1))
		rss := peakRSS(t)
		t.Logf("%s: %d params, one step at batch 1 × %d: loss %.4f (ln V = %.4f), grad norm %.3g; process peak RSS so far %.2f GiB",
			name, cfg.ParamCount(), T, loss, math.Log(float64(cfg.Vocab)), norm, float64(rss)/(1<<30))
		if math.IsNaN(loss) || math.Abs(loss-math.Log(float64(cfg.Vocab))) > 1 || !(norm > 0) {
			t.Errorf("%s: loss %v, grad norm %v", name, loss, norm)
		}
		if rss > 24<<30 {
			t.Errorf("%s: peak RSS %.2f GiB over 24 GiB", name, float64(rss)/(1<<30))
		}
		m, o = nil, nil
		runtime.GC()
	}
}
