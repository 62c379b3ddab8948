package methods

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestFisherByHand checks Fisher on softmax regression (an MLP with no
// hidden layer, 2 inputs, 2 classes), whose per-example gradients are
// known in closed form: with p = softmax(Wx + b) and label y,
// ∂ℓ/∂W[k][j] = (p_k − [k=y])·x_j and ∂ℓ/∂b[k] = p_k − [k=y]. With
// fisher_weight=prob (Buzzega et al.'s online EWC) each row's squared
// gradient is weighted by the model's probability of its label, p_y.
func TestFisherByHand(t *testing.T) {
	for _, byProb := range []bool{false, true} {
		model, err := models.NewMLP(models.MLPConfig{In: 2, Classes: []int{2}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		W := [2][2]float64{{0.5, -1}, {0.25, 0.75}}
		bias := [2]float64{0.1, -0.2}
		copy(model.Params().Get("head.0.weight"), []float32{0.5, -1, 0.25, 0.75})
		copy(model.Params().Get("head.0.bias"), []float32{0.1, -0.2})
		xs := [][2]float64{{1, 2}, {-0.5, 0.3}, {2, -1}}
		ys := []int{0, 1, 1}
		b := &models.Batch{Objective: models.Classify, B: 3, T: 2, Targets: []int32{0, 1, 1},
			Weights: []float32{5, 5, 5}} // weights must not enter the Fisher
		for _, x := range xs {
			b.Features = append(b.Features, float32(x[0]), float32(x[1]))
		}
		f, _, err := fisher(model, b, byProb)
		if err != nil {
			t.Fatal(err)
		}
		var wantW [2][2]float64
		var wantB [2]float64
		for n, x := range xs {
			z := [2]float64{}
			for k := 0; k < 2; k++ {
				z[k] = W[k][0]*x[0] + W[k][1]*x[1] + bias[k]
			}
			p0 := 1 / (1 + math.Exp(z[1]-z[0]))
			p := [2]float64{p0, 1 - p0}
			w := 1.0
			if byProb {
				w = p[ys[n]]
			}
			for k := 0; k < 2; k++ {
				d := p[k]
				if k == ys[n] {
					d--
				}
				for j := 0; j < 2; j++ {
					wantW[k][j] += w * d * x[j] * d * x[j] / 3
				}
				wantB[k] += w * d * d / 3
			}
		}
		gotW, gotB := f.Get("head.0.weight"), f.Get("head.0.bias")
		for k := 0; k < 2; k++ {
			for j := 0; j < 2; j++ {
				if math.Abs(float64(gotW[k*2+j])-wantW[k][j]) > 1e-6 {
					t.Errorf("weighted by p_y %v: F[W%d%d] = %.7f, by hand %.7f", byProb, k, j, gotW[k*2+j], wantW[k][j])
				}
			}
			if math.Abs(float64(gotB[k])-wantB[k]) > 1e-6 {
				t.Errorf("weighted by p_y %v: F[b%d] = %.7f, by hand %.7f", byProb, k, gotB[k], wantB[k])
			}
		}
	}
	if _, err := New("ewc", Config{"fisher_weight": "label"}); err == nil {
		t.Error("fisher_weight=label accepted")
	}
}

// TestFisherSummedTokens checks that the Fisher of token rows is the
// squared gradient of each row's SUMMED negative log-likelihood, not of
// its mean token loss: on tiny Transformers (a decoder on next-token rows,
// an encoder on masked rows), F_i is compared with the mean over rows of
// (∂/∂θ_i Σ_targets −log p)², where each row's summed NLL is Evaluate's
// LossSum and its derivative a central difference. Row 1 of each batch
// ignores some positions (−1 targets, padding after Lengths), so that
// the rows' target counts differ and the scaling must be per row.
func TestFisherSummedTokens(t *testing.T) {
	const T, V = 6, 11
	for _, c := range []struct {
		arch    models.Arch
		obj     models.Objective
		targets []int32 // two rows of T; −1 = ignored
		lengths []int
	}{
		{models.Decoder, models.NextToken,
			[]int32{3, 7, 1, 9, 4, 2 /* row 1: 3 targets */, 5, -1, 8, 6, -1, -1}, []int{6, 4}},
		{models.Encoder, models.Masked,
			[]int32{-1, 2, -1, 10, 4, -1 /* row 1: 2 targets */, 6, -1, -1, 3, -1, -1}, []int{6, 5}},
	} {
		cfg := models.Config{Name: "tiny", Arch: c.arch, Layers: 1, DModel: 8, Heads: 2, DFF: 12, Ctx: T, Vocab: V}
		if c.arch == models.Encoder {
			cfg.TypeVocab = 2
		}
		model, err := models.NewTransformer(cfg, 5)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		p := model.Params().Data
		for i := range p {
			p[i] += float32(0.3 * rng.NormFloat64())
		}
		b := &models.Batch{Objective: c.obj, B: 2, T: T, Inputs: []int32{1, 3, 7, 1, 9, 4, 2, 5, 0, 8, 6, 0},
			Targets: c.targets, Lengths: c.lengths, Weights: []float32{3, 0.5}}
		f, err := Fisher(model, b)
		if err != nil {
			t.Fatal(err)
		}
		// The row's summed NLL at θ_i + s (clean forward, float64 sums).
		nll := func(r, i int, s float32) float64 {
			old := p[i]
			p[i] = old + s
			sc, err := model.Evaluate(Row(b, r, 0))
			p[i] = old
			if err != nil {
				t.Fatal(err)
			}
			return sc.LossSum
		}
		// Check the 12 largest entries (where a float32 central difference
		// is accurate), and that the gradient of the mean loss would have
		// been too small by the row's target count.
		idx := make([]int, len(f.Data))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return f.Data[idx[a]] > f.Data[idx[b]] })
		const h = 1e-2
		for _, i := range idx[:12] {
			var want float64
			for r := 0; r < 2; r++ {
				g := (nll(r, i, h) - nll(r, i, -h)) / (2 * h)
				want += g * g / 2
			}
			if got := float64(f.Data[i]); math.Abs(got-want) > 2e-2*want {
				t.Errorf("%v: F[%d] = %.6g, by central differences of the summed NLL %.6g", c.arch, i, got, want)
			}
		}
		// Mean-loss Fisher of the same rows, by hand from ForwardBackward:
		// each row's term is smaller by its target count squared.
		counts := []float32{0, 0}
		for n, y := range c.targets {
			if y >= 0 {
				counts[n/T]++
			}
		}
		i := idx[0]
		var perToken float64
		for r := 0; r < 2; r++ {
			row := Row(b, r, 0)
			row.Weights = nil
			if _, err := model.ForwardBackward(row, models.ForwardOptions{}); err != nil {
				t.Fatal(err)
			}
			g := float64(counts[r] * model.Grads().Data[i])
			perToken += g * g / 2
		}
		if got := float64(f.Data[i]); math.Abs(got-perToken) > 1e-5*perToken {
			t.Errorf("%v: F[%d] = %.6g, want mean over rows of (count × mean-loss gradient)² = %.6g (counts %v)", c.arch, i, got, perToken, counts)
		}
	}
}

// ewcEnv is an Env over a small MLP with one task of cluster data.
func ewcEnv(t *testing.T) (*Env, *synthTask, *models.MLP) {
	t.Helper()
	model, err := models.NewMLP(models.MLPConfig{In: 10, Hidden: []int{8}, Classes: []int{2}, SharedHead: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	task := clusterTasks(5)[0]
	env := &Env{Model: model, RNG: rand.New(rand.NewPCG(1, 1)), Logf: t.Logf,
		Cfg: TrainConfig{BatchSize: 16, StepsPerTask: 10, LR: 0.1}}
	return env, task, model
}

func TestEWCPenalty(t *testing.T) {
	env, task, model := ewcEnv(t)
	m, err := New("ewc", Config{"lambda": "50", "fisher_samples": "64"})
	if err != nil {
		t.Fatal(err)
	}
	e := m.(*ewc)
	if got := e.AddPenalty(env); got != 0 {
		t.Fatalf("penalty %v before any task", got)
	}
	if err := e.EndTask(env, task); err != nil {
		t.Fatal(err)
	}
	p, g := model.Params(), model.Grads()

	// At θ* the penalty and its gradient are 0.
	for i := range g.Data {
		g.Data[i] = float32(i % 7)
	}
	before := g.Clone()
	if got := e.AddPenalty(env); got != 0 {
		t.Fatalf("penalty %v at θ*", got)
	}
	for i := range g.Data {
		if g.Data[i] != before.Data[i] {
			t.Fatalf("gradient %d changed at θ*", i)
		}
	}

	// Perturbed: added gradient = λF(θ−θ*), value = (λ/2)ΣF(θ−θ*)².
	star := p.Clone()
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range p.Data {
		p.Data[i] += float32(0.1 * rng.NormFloat64())
	}
	g.Zero()
	pen := e.AddPenalty(env)
	F := e.anchors[0].fisher.Data
	var want float64
	for i := range p.Data {
		d := float64(p.Data[i]) - float64(star.Data[i])
		want += 50 / 2 * float64(F[i]) * d * d
		wg := 50 * float64(F[i]) * d
		if math.Abs(float64(g.Data[i])-wg) > 1e-5*math.Max(1, math.Abs(wg)) {
			t.Fatalf("gradient %d: %g, want λF(θ−θ*) = %g", i, g.Data[i], wg)
		}
	}
	if want == 0 || math.Abs(pen-want) > 1e-4*want {
		t.Fatalf("penalty %g, want %g", pen, want)
	}
	// The value and the gradient agree: a central difference of the
	// penalty along a random direction u equals ⟨grad, u⟩.
	u := make([]float32, len(p.Data))
	var dot float64
	for i := range u {
		u[i] = float32(rng.NormFloat64())
		dot += float64(g.Data[i]) * float64(u[i])
	}
	const h = 1e-2
	shift := func(s float32) float64 {
		for i := range p.Data {
			p.Data[i] += s * u[i]
		}
		g.Zero()
		v := e.AddPenalty(env)
		for i := range p.Data {
			p.Data[i] -= s * u[i]
		}
		return v
	}
	num := (shift(h) - shift(-h)) / (2 * h)
	if math.Abs(num-dot) > 1e-3*math.Abs(dot) {
		t.Fatalf("directional derivative %g, gradient gives %g", num, dot)
	}
}

func TestEWCAnchors(t *testing.T) {
	for _, online := range []bool{false, true} {
		env, task, model := ewcEnv(t)
		cfg := Config{"lambda": "2", "fisher_samples": "32", "gamma": "0.5"}
		if online {
			cfg["online"] = "true"
		}
		m, _ := New("ewc", cfg)
		e := m.(*ewc)
		if err := e.EndTask(env, task); err != nil {
			t.Fatal(err)
		}
		f1 := e.anchors[0].fisher.Clone()
		for i := range model.Params().Data {
			model.Params().Data[i] += 0.05
		}
		task2 := *task
		task2.idx = 1
		pcg := rand.NewPCG(9, 9)
		env.RNG = rand.New(pcg)
		state, _ := pcg.MarshalBinary()
		if err := e.EndTask(env, &task2); err != nil {
			t.Fatal(err)
		}
		if !online {
			if len(e.anchors) != 2 {
				t.Fatalf("%d anchors after 2 tasks, want 2", len(e.anchors))
			}
			continue
		}
		if len(e.anchors) != 1 {
			t.Fatalf("online: %d anchors, want 1", len(e.anchors))
		}
		// Replay the RNG to get the second task's own Fisher F2, then
		// check F = γ·F1 + F2 and θ* = the latest parameters.
		again := &rand.PCG{}
		if err := again.UnmarshalBinary(state); err != nil {
			t.Fatal(err)
		}
		b2, _ := task2.Sample(rand.New(again), 32)
		f2, err := Fisher(model, b2)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range e.anchors[0].fisher.Data {
			want := 0.5*f1.Data[i] + f2.Data[i]
			if math.Abs(float64(v-want)) > 1e-6*math.Max(1e-3, float64(want)) {
				t.Fatalf("online F[%d] = %g, want γ·F1 + F2 = %g", i, v, want)
			}
		}
		for i, v := range model.Params().Data {
			if e.anchors[0].theta.Data[i] != v {
				t.Fatal("online anchor θ* is not the latest parameters")
			}
		}
	}
}

// countingTask is a synthTask that reports its training rows and records
// the size of every Sample.
type countingTask struct {
	*synthTask
	asked []int
}

func (t *countingTask) NumTrain() int { return t.train.B }

func (t *countingTask) Sample(rng *rand.Rand, n int) (*models.Batch, error) {
	t.asked = append(t.asked, n)
	return t.synthTask.Sample(rng, n)
}

// TestFisherEveryRow: fisher_samples=0 asks the task for all its
// training rows (NumTrain), and refuses a task that does not report them.
func TestFisherEveryRow(t *testing.T) {
	tasks := clusterTasks(5)
	m, err := New("ewc", Config{"fisher_samples": "0"})
	if err != nil {
		t.Fatal(err)
	}
	model, err := models.NewMLP(models.MLPConfig{In: 10, Hidden: []int{4}, Classes: []int{2}, SharedHead: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Model: model, RNG: rand.New(rand.NewPCG(1, 1)), Logf: func(string, ...any) {}}
	ct := &countingTask{synthTask: tasks[0]}
	if err := m.EndTask(env, ct); err != nil {
		t.Fatal(err)
	}
	if len(ct.asked) != 1 || ct.asked[0] != tasks[0].train.B {
		t.Errorf("Fisher sampled %v rows, want all %d once", ct.asked, tasks[0].train.B)
	}
	if err := m.EndTask(env, tasks[1]); err == nil || !strings.Contains(err.Error(), "fisher_samples=0") {
		t.Errorf("a task without NumTrain: %v", err)
	}
}
