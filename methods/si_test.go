package methods

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestNewMethodsChangeTheUpdate trains each of SI, MAS, LwF, A-GEM and
// DER++ on the first cluster task, then takes steps of the second: at
// some of its first 20 steps, the method's AddPenalty must change the
// gradient the step would otherwise take (naive's), by more than
// rounding. A regulariser that stays 0 or a replay that never reaches
// the update fails here.
func TestNewMethodsChangeTheUpdate(t *testing.T) {
	for _, name := range []string{"si", "mas", "lwf", "agem", "derpp"} {
		cfg := Config{}
		if name == "agem" || name == "derpp" {
			cfg["buffer"] = "100"
		}
		if name == "agem" {
			cfg["per_task"] = "100"
		}
		tasks := clusterTasks(3)
		res := trainRun(t, name, cfg, tasks[:1], 3, 100)
		m, err := New(name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Replay the first task into a fresh method with the trained
		// model, so that its state is that of a run after task 0.
		env := res.env
		env.Step = nil
		copyRun(t, m, env, tasks[0])
		env.Tasks = append(env.Tasks, tasks[1])
		if err := m.BeginTask(env, tasks[1]); err != nil {
			t.Fatal(err)
		}
		data := rand.New(rand.NewPCG(9, 9))
		var worst float64
		for s := 0; s < 20; s++ {
			b, err := m.TrainBatch(env, pick(tasks[1].train, data, 32))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Model.ForwardBackward(b, models.ForwardOptions{}); err != nil {
				t.Fatal(err)
			}
			g0 := env.Model.Grads().Clone()
			m.AddPenalty(env)
			var d, n float64
			for i, v := range env.Model.Grads().Data {
				d += math.Abs(float64(v - g0.Data[i]))
				n += math.Abs(float64(g0.Data[i]))
			}
			worst = math.Max(worst, d/n)
			(&models.SGD{}).Step(env.Model.Params(), env.Model.Grads(), 0.05)
		}
		t.Logf("%s: largest relative change of the step's gradient in task 1: %.3g", name, worst)
		if worst < 1e-3 {
			t.Errorf("%s: AddPenalty changed the gradient of task 1's steps by at most %.3g of its size: the method acts like naive", name, worst)
		}
	}
}

// copyRun runs task 0 once more with m on env's (trained) model, so that
// m ends task 0 with state of its own (anchors, importance, buffer).
func copyRun(t *testing.T, m Method, env *Env, tk *synthTask) {
	t.Helper()
	if err := m.BeginTask(env, tk); err != nil {
		t.Fatal(err)
	}
	data := rand.New(rand.NewPCG(8, 8))
	for s := 0; s < 20; s++ {
		b, err := m.TrainBatch(env, pick(tk.train, data, 32))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Model.ForwardBackward(b, models.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		m.AddPenalty(env)
		(&models.SGD{}).Step(env.Model.Params(), env.Model.Grads(), 0.05)
	}
	if err := m.EndTask(env, tk); err != nil {
		t.Fatal(err)
	}
}

// TestQuadPenaltyGrad checks the gradient SI and MAS add, 2c·Ω·(θ − θ*),
// against central differences of c·Σ Ω·(θ − θ*)² in float64.
func TestQuadPenaltyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 7
	p, omega, theta := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range p {
		p[i], omega[i], theta[i] = float32(rng.NormFloat64()), float32(rng.Float64()), float32(rng.NormFloat64())
	}
	const c = 0.7
	g := make([]float32, n)
	pen := quadPenalty(p, g, omega, theta, c)
	f := func(x []float64) float64 {
		var s float64
		for i, v := range x {
			d := v - float64(theta[i])
			s += float64(omega[i]) * d * d
		}
		return c * s
	}
	x := make([]float64, n)
	for i, v := range p {
		x[i] = float64(v)
	}
	if math.Abs(pen-f(x)) > 1e-5 {
		t.Errorf("penalty %.9g, by hand %.9g", pen, f(x))
	}
	num := centralDiff(f, x, 1e-6)
	for i := range g {
		if math.Abs(float64(g[i])-num[i]) > 1e-4*math.Max(1, math.Abs(num[i])) {
			t.Errorf("∂/∂θ_%d: %.6g, finite difference %.6g", i, g[i], num[i])
		}
	}
}

// TestSIPathIntegral checks ω on a hand-made path: two steps of a
// quadratic loss L = ½·Σ θ², where the path integral −Σ g·Δθ of exact
// gradient steps is the loss decrease to first order.
func TestSIPathIntegral(t *testing.T) {
	model, err := models.NewMLP(models.MLPConfig{In: 2, Hidden: nil, Classes: []int{2}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := model.Params().Data // 2×2 weights + 2 biases
	copy(p, []float32{1, -2, 0.5, 0, 3, -1})
	s := &si{c: 1, xi: 0.5}
	env := &Env{Model: model, Logf: func(string, ...any) {}}
	tk := &synthTask{idx: 0, name: "t"}
	if err := s.BeginTask(env, tk); err != nil {
		t.Fatal(err)
	}
	start := append([]float32(nil), p...)
	want := make([]float64, len(p))
	for step := 0; step < 2; step++ {
		g := model.Grads().Data
		copy(g, p) // ∇(½Σθ²) = θ
		s.AddPenalty(env)
		for i := range p {
			d := -0.1 * g[i] // SGD at lr 0.1
			want[i] -= float64(g[i]) * float64(d)
			p[i] += d
		}
	}
	if err := s.EndTask(env, tk); err != nil {
		t.Fatal(err)
	}
	for i := range p {
		d := float64(p[i] - start[i])
		w := want[i] / (d*d + 0.5)
		if math.Abs(float64(s.omega[i])-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("Ω_%d = %.7g, by hand %.7g (ω %.7g, Δ %.4g)", i, s.omega[i], w, want[i], d)
		}
		if s.theta[i] != p[i] {
			t.Errorf("θ*_%d = %v, want the task's last parameters %v", i, s.theta[i], p[i])
		}
	}
}

// centralDiff is the central-difference gradient of f at x.
func centralDiff(f func([]float64) float64, x []float64, h float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		v := x[i]
		x[i] = v + h
		a := f(x)
		x[i] = v - h
		b := f(x)
		x[i] = v
		out[i] = (a - b) / (2 * h)
	}
	return out
}

// logitsGradCheck compares an OutputLoss's dlogits with central
// differences of its loss over the logits (in float32, so the step and
// the tolerance are coarse).
func logitsGradCheck(t *testing.T, name string, fn models.OutputLoss, out *models.Outputs) {
	t.Helper()
	d := make([]float32, len(out.Logits))
	fn(out, d)
	const h = 1e-2
	for j := range out.Logits {
		v := out.Logits[j]
		out.Logits[j] = v + h
		a := fn(out, nil)
		out.Logits[j] = v - h
		b := fn(out, nil)
		out.Logits[j] = v
		num := (a - b) / (2 * h)
		if math.Abs(float64(d[j])-num) > 2e-3*math.Max(1, math.Abs(num)) {
			t.Errorf("%s: ∂/∂z_%d = %.6g, finite difference %.6g", name, j, d[j], num)
		}
	}
}

// randomOutputs is M targets of width w with random logits; classes[i]
// of each are real.
func randomOutputs(seed uint64, w int, classes []int) *models.Outputs {
	rng := rand.New(rand.NewPCG(seed, 5))
	o := &models.Outputs{Width: w, Classes: classes}
	for i := range classes {
		o.Row = append(o.Row, i)
		o.Pos = append(o.Pos, 0)
		for k := 0; k < w; k++ {
			v := float32(0)
			if k < classes[i] {
				v = float32(2 * rng.NormFloat64())
			}
			o.Logits = append(o.Logits, v)
		}
	}
	return o
}

// TestSIStepGradClip checks SI with omega_grad=step and clip (Buzzega et
// al.'s SI): the step's gradient, surrogate included, is clipped to
// ±clip by value, and with plain SGD at rate lr the path integral is
// ω += lr·g² of that clipped gradient. The loss is L = ½·Σ θ² (gradient
// θ), two tasks of three steps each, so the second task's gradient has
// the surrogate's 2c·Ω·(θ − θ*) in it.
func TestSIStepGradClip(t *testing.T) {
	model, err := models.NewMLP(models.MLPConfig{In: 2, Hidden: nil, Classes: []int{2}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New("si", Config{"c": "0.7", "xi": "0.5", "omega_grad": "step", "clip": "0.8"})
	if err != nil {
		t.Fatal(err)
	}
	s := m.(*si)
	p := model.Params().Data
	copy(p, []float32{1, -2, 0.5, 0, 3, -1})
	env := &Env{Model: model, Logf: func(string, ...any) {}}
	const lr = 0.1
	omega := make([]float64, len(p))
	theta := make([]float64, len(p)) // θ* (0 before the first task ends)
	for k := 0; k < 2; k++ {
		tk := &synthTask{idx: k, name: "t"}
		if err := s.BeginTask(env, tk); err != nil {
			t.Fatal(err)
		}
		start := append([]float32(nil), p...)
		w := make([]float64, len(p))
		for step := 0; step < 3; step++ {
			g := model.Grads().Data
			want := make([]float64, len(p))
			for i := range p {
				want[i] = float64(p[i])
				if k > 0 {
					want[i] += 2 * 0.7 * omega[i] * (float64(p[i]) - theta[i])
				}
				want[i] = math.Max(-0.8, math.Min(0.8, want[i]))
			}
			copy(g, p)
			s.AddPenalty(env)
			for i := range p {
				if math.Abs(float64(g[i])-want[i]) > 1e-5 {
					t.Fatalf("task %d step %d: g_%d = %.6g after AddPenalty, want %.6g (surrogate, then clip)", k, step, i, g[i], want[i])
				}
				w[i] += lr * want[i] * want[i]
				p[i] -= float32(lr) * g[i]
			}
		}
		if err := s.EndTask(env, tk); err != nil {
			t.Fatal(err)
		}
		for i := range p {
			d := float64(p[i] - start[i])
			omega[i] += w[i] / (d*d + 0.5)
			theta[i] = float64(p[i])
			if math.Abs(float64(s.omega[i])-omega[i]) > 1e-5*math.Max(1, omega[i]) {
				t.Errorf("after task %d: Ω_%d = %.7g, by hand %.7g", k, i, s.omega[i], omega[i])
			}
		}
	}
	if _, err := New("si", Config{"omega_grad": "both"}); err == nil {
		t.Error("omega_grad=both accepted")
	}
}
