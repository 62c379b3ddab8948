package models

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// refMLPLoss is an independent float64 implementation of the MLP's loss
// Σ_b w_b·ℓ_b / N, reading parameters from theta (the MLP's flat layout).
// With b.Outputs > 0, ℓ_b is the cross-entropy of the softmax over the
// first b.Outputs logits only.
func refMLPLoss(m *MLP, theta []float64, b *Batch) (loss float64, perRow []float64) {
	get := func(t Tensor) []float64 { return theta[t.Offset : t.Offset+t.Size()] }
	perRow = make([]float64, b.B)
	n := 0
	for r := 0; r < b.B; r++ {
		x := make([]float64, b.T)
		for i := range x {
			x[i] = float64(b.Features[r*b.T+i])
		}
		for _, ly := range m.hidden {
			w, bias := get(ly.w), get(ly.b)
			y := make([]float64, ly.out)
			for o := range y {
				s := bias[o]
				for i := 0; i < ly.in; i++ {
					s += w[o*ly.in+i] * x[i]
				}
				y[o] = math.Max(0, s)
			}
			x = y
		}
		h := 0
		if !m.cfg.SharedHead && b.Task != nil {
			h = b.Task[r]
		}
		hd := m.heads[h]
		w, bias := get(hd.w), get(hd.b)
		z := make([]float64, hd.out)
		mx := math.Inf(-1)
		for o := range z {
			s := bias[o]
			for i := 0; i < hd.in; i++ {
				s += w[o*hd.in+i] * x[i]
			}
			z[o] = s
			mx = math.Max(mx, s)
		}
		if b.Outputs > 0 {
			z = z[:b.Outputs]
			mx = math.Inf(-1)
			for _, v := range z {
				mx = math.Max(mx, v)
			}
		}
		var se float64
		for _, v := range z {
			se += math.Exp(v - mx)
		}
		y := int(b.Targets[r])
		if y < 0 {
			continue
		}
		n++
		perRow[r] = mx + math.Log(se) - z[y]
		wt := 1.0
		if b.Weights != nil {
			wt = float64(b.Weights[r])
		}
		loss += wt * perRow[r]
	}
	return loss / float64(n), perRow
}

func mlpRandomBatch(rng *rand.Rand, B, T int, classes []int, shared bool) *Batch {
	b := &Batch{Objective: Classify, B: B, T: T, Features: make([]float32, B*T), Targets: make([]int32, B), Task: make([]int, B)}
	for i := range b.Features {
		b.Features[i] = float32(rng.NormFloat64())
	}
	maxC := 0
	for _, c := range classes {
		maxC = max(maxC, c)
	}
	for r := 0; r < B; r++ {
		b.Task[r] = rng.IntN(len(classes))
		c := classes[b.Task[r]]
		if shared {
			c = maxC
		}
		b.Targets[r] = int32(rng.IntN(c))
	}
	return b
}

func TestMLPGradientCheck(t *testing.T) {
	cases := []struct {
		name    string
		cfg     MLPConfig
		outputs int // Batch.Outputs; labels are reduced below it
	}{
		{"two hidden, per-task heads", MLPConfig{In: 6, Hidden: []int{5, 4}, Classes: []int{3, 4}}, 0},
		{"one hidden, shared head", MLPConfig{In: 5, Hidden: []int{7}, Classes: []int{3, 3}, SharedHead: true}, 0},
		{"no hidden (softmax regression)", MLPConfig{In: 4, Classes: []int{3}}, 0},
		{"shared head, loss over 3 of 5 outputs", MLPConfig{In: 5, Hidden: []int{6, 4}, Classes: []int{5, 5}, SharedHead: true}, 3},
		{"per-task heads, loss over 2 outputs", MLPConfig{In: 6, Hidden: []int{5}, Classes: []int{3, 4}}, 2},
		{"shared head, Outputs = head size", MLPConfig{In: 4, Hidden: []int{5}, Classes: []int{4}, SharedHead: true}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMLP(tc.cfg, 7)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			b := mlpRandomBatch(rng, 6, tc.cfg.In, tc.cfg.Classes, tc.cfg.SharedHead)
			b.Weights = []float32{1, 0.5, 2, 1, 0.25, 1.5}
			b.Targets[3] = -1 // an ignored row
			if tc.outputs > 0 {
				b.Outputs = tc.outputs
				for r, y := range b.Targets {
					if y >= 0 {
						b.Targets[r] = y % int32(tc.outputs)
					}
				}
				b.Targets[0] = int32(tc.outputs - 1) // the last unmasked output is a label
			}
			loss, err := m.ForwardBackward(b, ForwardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			theta := make([]float64, m.Params().Len())
			for i, v := range m.Params().Data {
				theta[i] = float64(v)
			}
			want, _ := refMLPLoss(m, theta, b)
			if math.Abs(loss-want) > 1e-5*math.Abs(want) {
				t.Fatalf("loss %.8f, float64 reference %.8f", loss, want)
			}
			// Central differences on the float64 reference, h = 1e-6.
			const h = 1e-6
			worst := 0.0
			for i := range theta {
				old := theta[i]
				theta[i] = old + h
				lp, _ := refMLPLoss(m, theta, b)
				theta[i] = old - h
				lm, _ := refMLPLoss(m, theta, b)
				theta[i] = old
				num := (lp - lm) / (2 * h)
				got := float64(m.Grads().Data[i])
				rel := math.Abs(got-num) / math.Max(math.Abs(num), 1e-3)
				worst = math.Max(worst, rel)
			}
			// float32 arithmetic in the model: allow 1e-4 relative error
			// (absolute below gradients of 1e-3).
			if worst > 1e-4 {
				t.Fatalf("max relative gradient error %.3g > 1e-4", worst)
			}
			t.Logf("loss %.6f, max relative gradient error %.2g over %d parameters", loss, worst, len(theta))
		})
	}
}

// TestMLPOutputs checks Batch.Outputs on a shared 10-way head: the masked
// outputs get a gradient of exactly 0, the loss, Losses and the other
// gradients equal those of the same network cut to its first Outputs
// outputs, Evaluate ignores the mask, and bad values are refused.
func TestMLPOutputs(t *testing.T) {
	cfg := MLPConfig{In: 6, Hidden: []int{8}, Classes: []int{10}, SharedHead: true}
	m, err := NewMLP(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	const k = 4
	cut, err := NewMLP(MLPConfig{In: 6, Hidden: []int{8}, Classes: []int{k}, SharedHead: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// cut = m restricted to the first k outputs (rows of the head).
	for _, tn := range cut.Params().Tensors {
		copy(cut.Params().Get(tn.Name), m.Params().Get(tn.Name))
	}
	b := mlpRandomBatch(rand.New(rand.NewPCG(7, 8)), 9, cfg.In, []int{k}, true)
	b.Targets[4] = -1
	b.Weights = []float32{1, 2, 0.5, 1, 1, 3, 1, 0.25, 1}
	b.Outputs = k

	loss, err := m.ForwardBackward(b, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain := *b
	plain.Outputs = 0
	want, err := cut.ForwardBackward(&plain, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-want) > 1e-6*math.Abs(want) {
		t.Errorf("masked loss %.8f, loss of the %d-output network %.8f", loss, k, want)
	}
	hidden := 8
	gw, gb := m.Grads().Get("head.0.weight"), m.Grads().Get("head.0.bias")
	for o := k; o < 10; o++ {
		if gb[o] != 0 {
			t.Errorf("masked output %d: bias gradient %g, want exactly 0", o, gb[o])
		}
		for i := 0; i < hidden; i++ {
			if gw[o*hidden+i] != 0 {
				t.Fatalf("masked output %d: weight gradient %g, want exactly 0", o, gw[o*hidden+i])
			}
		}
	}
	for _, tn := range cut.Params().Tensors {
		got, ref := m.Grads().Get(tn.Name)[:tn.Size()], cut.Grads().Get(tn.Name)
		for i := range ref {
			if d := math.Abs(float64(got[i] - ref[i])); d > 1e-6+1e-5*math.Abs(float64(ref[i])) {
				t.Fatalf("%s[%d]: masked gradient %g, %d-output network %g", tn.Name, i, got[i], k, ref[i])
			}
		}
	}
	// Without the mask the masked outputs do get a gradient.
	if _, err := m.ForwardBackward(&plain, ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	if m.Grads().Get("head.0.bias")[k] == 0 {
		t.Error("unmasked: output k has a zero bias gradient")
	}

	losses, err := m.Losses(b, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := cut.Losses(&plain, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for r := range ref {
		if math.Abs(losses[r]-ref[r]) > 1e-6 {
			t.Errorf("Losses row %d: masked %.7f, %d-output network %.7f", r, losses[r], k, ref[r])
		}
	}

	// Evaluate uses all 10 outputs whatever Outputs says, and does not
	// check it.
	full, err := m.Evaluate(&plain)
	if err != nil {
		t.Fatal(err)
	}
	odd := plain
	for _, o := range []int{k, -3, 11} {
		odd.Outputs = o
		s, err := m.Evaluate(&odd)
		if err != nil {
			t.Fatalf("Evaluate with Outputs %d: %v", o, err)
		}
		if s != full {
			t.Errorf("Evaluate with Outputs %d: %+v, without %+v", o, s, full)
		}
	}

	// Out of range: refused by ForwardBackward and Losses, with a message
	// naming Outputs.
	bad := map[string]func(b *Batch){
		"negative":                func(b *Batch) { b.Outputs = -1 },
		"above the head's size":   func(b *Batch) { b.Outputs = 11 },
		"a label equal to it":     func(b *Batch) { b.Targets[2] = k },
		"a label of a later task": func(b *Batch) { b.Targets[2] = 9 },
	}
	for name, f := range bad {
		c := *b
		c.Targets = append([]int32(nil), b.Targets...)
		c.Targets[2] = 0
		f(&c)
		if _, err := m.ForwardBackward(&c, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), "Outputs") {
			t.Errorf("ForwardBackward, %s: error %v, want one naming Outputs", name, err)
		}
		if _, err := m.Losses(&c, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), "Outputs") {
			t.Errorf("Losses, %s: error %v, want one naming Outputs", name, err)
		}
	}
	// Per-task heads: Outputs must fit the head of every row.
	multi, _ := NewMLP(MLPConfig{In: 3, Classes: []int{2, 4}}, 1)
	mb := &Batch{Objective: Classify, B: 2, T: 3, Features: make([]float32, 6), Targets: []int32{0, 1}, Task: []int{1, 0}, Outputs: 3}
	if _, err := multi.ForwardBackward(mb, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), "head 0 has only 2 outputs") {
		t.Errorf("Outputs 3 on a 2-output head: error %v", err)
	}
	mb.Outputs = 2
	if _, err := multi.ForwardBackward(mb, ForwardOptions{}); err != nil {
		t.Errorf("Outputs 2 on heads of 4 and 2 outputs: %v", err)
	}
}

func TestMLPLossesAndEvaluate(t *testing.T) {
	cfg := MLPConfig{In: 6, Hidden: []int{8}, Classes: []int{3, 5}}
	m, err := NewMLP(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	b := mlpRandomBatch(rand.New(rand.NewPCG(4, 5)), 9, cfg.In, cfg.Classes, false)
	b.Targets[2] = -1
	before := append([]float32(nil), m.Grads().Data...)
	losses, err := m.Losses(b, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Grads().Data {
		if v != before[i] {
			t.Fatal("Losses changed Grads")
		}
	}
	theta := make([]float64, m.Params().Len())
	for i, v := range m.Params().Data {
		theta[i] = float64(v)
	}
	_, ref := refMLPLoss(m, theta, b)
	var sum float64
	for r := range losses {
		if math.Abs(losses[r]-ref[r]) > 1e-5 {
			t.Errorf("row %d loss %.7f, reference %.7f", r, losses[r], ref[r])
		}
		sum += losses[r]
	}
	if losses[2] != 0 {
		t.Errorf("ignored row loss %v, want 0", losses[2])
	}
	s, err := m.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 8 {
		t.Errorf("Total %d, want 8 labelled rows", s.Total)
	}
	if math.Abs(s.LossSum-sum) > 1e-9 {
		t.Errorf("LossSum %.7f, want Σ Losses %.7f", s.LossSum, sum)
	}
	// Correct counts argmax hits, recomputed here from the reference logits'
	// ordering via the per-class losses: a label is the argmax iff its
	// loss is the smallest over the head's classes.
	correct := 0
	for r := 0; r < b.B; r++ {
		if b.Targets[r] < 0 {
			continue
		}
		c := cfg.Classes[b.Task[r]]
		best, bestLoss := -1, math.Inf(1)
		for k := 0; k < c; k++ {
			bb := *b
			bb.Targets = append([]int32(nil), b.Targets...)
			bb.Targets[r] = int32(k)
			_, l := refMLPLoss(m, theta, &bb)
			if l[r] < bestLoss {
				best, bestLoss = k, l[r]
			}
		}
		if best == int(b.Targets[r]) {
			correct++
		}
	}
	if s.Correct != correct {
		t.Errorf("Correct %d, reference %d", s.Correct, correct)
	}
}

func TestMLPEmbedNoise(t *testing.T) {
	cfg := MLPConfig{In: 50, Classes: []int{2}}
	m, err := NewMLP(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := mlpRandomBatch(rand.New(rand.NewPCG(9, 9)), 4, cfg.In, cfg.Classes, false)
	clean, _ := m.Losses(b, ForwardOptions{})
	zero, _ := m.Losses(b, ForwardOptions{EmbedNoise: 0, RNG: rand.New(rand.NewPCG(1, 1))})
	for i := range clean {
		if clean[i] != zero[i] {
			t.Fatal("EmbedNoise 0 changed the output")
		}
	}
	n1, err := m.Losses(b, ForwardOptions{EmbedNoise: 0.5, RNG: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	n2, _ := m.Losses(b, ForwardOptions{EmbedNoise: 0.5, RNG: rand.New(rand.NewPCG(1, 1))})
	differs := false
	for i := range clean {
		if n1[i] != n2[i] {
			t.Fatal("noise not deterministic for a seed")
		}
		differs = differs || n1[i] != clean[i]
	}
	if !differs {
		t.Fatal("EmbedNoise 0.5 left every loss unchanged")
	}
	if b.Features[0] != mlpRandomBatch(rand.New(rand.NewPCG(9, 9)), 4, cfg.In, cfg.Classes, false).Features[0] {
		t.Fatal("noise written into the caller's batch")
	}
	if _, err := m.Losses(b, ForwardOptions{EmbedNoise: 0.5}); err == nil {
		t.Fatal("noise without an RNG accepted")
	}

	// The noise std is EmbedNoise·RMS(x): with no hidden layer, one class
	// weight vector e_0 and the other 0, logit_0 − logit_1 = x_0 + noise, so
	// the spread of that difference over many draws measures the std.
	p := m.Params()
	p.Zero()
	p.Get("head.0.weight")[0] = 1
	one := &Batch{Objective: Classify, B: 1, T: cfg.In, Features: make([]float32, cfg.In), Targets: []int32{0}}
	for i := range one.Features {
		one.Features[i] = 2 // RMS 2
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var ss float64
	const draws = 4000
	for i := 0; i < draws; i++ {
		if _, err := m.forward(one, ForwardOptions{EmbedNoise: 0.25, RNG: rng}, false); err != nil {
			t.Fatal(err)
		}
		d := float64(m.logits[0]-m.logits[1]) - 2
		ss += d * d
	}
	std := math.Sqrt(ss / draws)
	// Want 0.25·2 = 0.5; the sample std of 4000 normals is within 5% of
	// the truth with probability > 0.998.
	if math.Abs(std-0.5) > 0.025 {
		t.Fatalf("noise std %.4f, want 0.5 ± 0.025", std)
	}
}

func TestMLPShapesAndErrors(t *testing.T) {
	m, err := NewMLP(MLPConfig{In: 784, Hidden: []int{400, 400}, Classes: []int{10}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Params().Len(), 784*400+400+400*400+400+400*10+10; got != want {
		t.Errorf("Hsu et al. MLP has %d parameters, want %d", got, want)
	}
	if m.Name() != "mlp-784-400-400-10" {
		t.Errorf("name %q", m.Name())
	}
	for _, tn := range m.Params().Tensors {
		want := Matrix
		if strings.HasSuffix(tn.Name, ".bias") {
			want = Bias
		}
		if tn.Kind != want {
			t.Errorf("%s has kind %v, want %v", tn.Name, tn.Kind, want)
		}
	}
	if _, err := NewMLP(MLPConfig{In: 4}, 1); err == nil {
		t.Error("no heads accepted")
	}
	if _, err := NewMLP(MLPConfig{In: 4, Hidden: []int{0}, Classes: []int{2}}, 1); err == nil {
		t.Error("zero-width layer accepted")
	}
	small, _ := NewMLP(MLPConfig{In: 3, Classes: []int{2, 3}}, 1)
	ok := func() *Batch {
		return &Batch{Objective: Classify, B: 2, T: 3, Features: make([]float32, 6), Targets: []int32{1, 2}, Task: []int{0, 1}}
	}
	if _, err := small.Evaluate(ok()); err != nil {
		t.Fatalf("valid batch: %v", err)
	}
	bad := map[string]func(b *Batch){
		"T":         func(b *Batch) { b.T = 4 },
		"objective": func(b *Batch) { b.Objective = NextToken },
		"task":      func(b *Batch) { b.Task[1] = 2 },
		"label":     func(b *Batch) { b.Targets[0] = 2 },
		"no task":   func(b *Batch) { b.Task = nil },
		"features":  func(b *Batch) { b.Features = b.Features[:5] },
	}
	for name, f := range bad {
		b := ok()
		f(b)
		if _, err := small.ForwardBackward(b, ForwardOptions{}); err == nil {
			t.Errorf("bad %s accepted", name)
		}
	}
}

func TestMLPDeterministicInit(t *testing.T) {
	cfg := MLPConfig{In: 10, Hidden: []int{6}, Classes: []int{3}}
	a, _ := NewMLP(cfg, 42)
	b, _ := NewMLP(cfg, 42)
	c, _ := NewMLP(cfg, 43)
	same, diff := true, false
	for i := range a.Params().Data {
		same = same && a.Params().Data[i] == b.Params().Data[i]
		diff = diff || a.Params().Data[i] != c.Params().Data[i]
		if v := math.Abs(float64(a.Params().Data[i])); v > 1/math.Sqrt(6) {
			t.Fatalf("init %v outside ±1/√fan_in", v)
		}
	}
	if !same || !diff {
		t.Fatalf("same seed identical: %v, other seed differs: %v", same, diff)
	}
}

func TestSGD(t *testing.T) {
	p := NewLayout([]Tensor{{Name: "w", Kind: Matrix, Shape: []int{2}}})
	g := p.Like()
	p.Data[0], p.Data[1] = 1, -1
	g.Data[0], g.Data[1] = 0.5, 2
	o := &SGD{Momentum: 0.9}
	o.Step(p, g, 0.1) // v = g; p = p − 0.1·g
	if p.Data[0] != 0.95 || p.Data[1] != -1.2 {
		t.Fatalf("after one step %v, want [0.95 -1.2]", p.Data)
	}
	o.Step(p, g, 0.1) // v = 0.9·g + g = 1.9·g
	want := []float32{0.95 - 0.1*1.9*0.5, -1.2 - 0.1*1.9*2}
	for i := range want {
		if math.Abs(float64(p.Data[i]-want[i])) > 1e-6 {
			t.Fatalf("after two steps %v, want %v", p.Data, want)
		}
	}
	plain := &SGD{}
	plain.Step(p, g, 1)
	if math.Abs(float64(p.Data[0]-(want[0]-0.5))) > 1e-6 {
		t.Fatalf("plain SGD step: %v", p.Data)
	}
}

func TestMLPLearns(t *testing.T) {
	// A linearly separable 2-class problem in 8 dimensions: the loss must
	// fall from ≈ ln 2 to under 0.1 in 200 SGD steps.
	cfg := MLPConfig{In: 8, Hidden: []int{16}, Classes: []int{2}}
	m, _ := NewMLP(cfg, 5)
	rng := rand.New(rand.NewPCG(6, 6))
	mk := func(B int) *Batch {
		b := &Batch{Objective: Classify, B: B, T: 8, Features: make([]float32, B*8), Targets: make([]int32, B)}
		for r := 0; r < B; r++ {
			var s float32
			for i := 0; i < 8; i++ {
				v := float32(rng.NormFloat64())
				b.Features[r*8+i] = v
				s += v * float32(i%3-1)
			}
			if s > 0 {
				b.Targets[r] = 1
			}
		}
		return b
	}
	o := &SGD{Momentum: 0.9}
	var first, last float64
	for step := 0; step < 200; step++ {
		loss, err := m.ForwardBackward(mk(32), ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss
		}
		last = loss
		o.Step(m.Params(), m.Grads(), 0.05)
	}
	if last > 0.1 {
		t.Fatalf("loss %.3f → %.3f after 200 steps, want < 0.1", first, last)
	}
	t.Logf("loss %.3f → %.3f", first, last)
}

func BenchmarkMLPTrainStep(b *testing.B) {
	// Hsu et al. 2018's 784-400-400-10 MLP, batch 128, one forward+backward.
	m, _ := NewMLP(MLPConfig{In: 784, Hidden: []int{400, 400}, Classes: []int{10}}, 1)
	batch := mlpRandomBatch(rand.New(rand.NewPCG(1, 1)), 128, 784, []int{10}, false)
	o := &SGD{Momentum: 0.9}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.ForwardBackward(batch, ForwardOptions{}); err != nil {
			b.Fatal(err)
		}
		o.Step(m.Params(), m.Grads(), 0.01)
	}
	flops := 6.0 * float64(m.Params().Len()) * 128 // fwd+bwd ≈ 3 × 2·params per row
	b.ReportMetric(float64(b.N)*128/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)*flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
