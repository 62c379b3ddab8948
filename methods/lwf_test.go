package methods

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestDistilGrad checks LwF's distillation gradient against finite
// differences, and that it vanishes when the student equals the teacher.
func TestDistilGrad(t *testing.T) {
	teacher := randomOutputs(1, 5, []int{5, 3, 4})
	logp := make([]float64, len(teacher.Logits))
	for i, c := range teacher.Classes {
		logSoftmax(logp[i*5:i*5+c], teacher.Logits[i*5:i*5+c], 2)
	}
	student := randomOutputs(2, 5, []int{5, 3, 4})
	logitsGradCheck(t, "distil T=2", distil(logp, 2), student)

	d := make([]float32, len(teacher.Logits))
	loss := distil(logp, 2)(teacher, d)
	var ent float64 // the teacher's own entropy: the loss's minimum
	for i, c := range teacher.Classes {
		for k := 0; k < c; k++ {
			ent -= math.Exp(logp[i*5+k]) * logp[i*5+k]
		}
	}
	ent /= 3
	if math.Abs(loss-ent) > 1e-9 {
		t.Errorf("loss at the teacher %.9g, want its entropy %.9g", loss, ent)
	}
	for j, v := range d {
		if math.Abs(float64(v)) > 1e-7 {
			t.Errorf("gradient at the teacher: ∂/∂z_%d = %g, want 0", j, v)
		}
	}
}

// TestRangeCEGrad checks the warm-up's cross-entropy over a range of
// logits against finite differences; logits outside the range get no
// gradient.
func TestRangeCEGrad(t *testing.T) {
	out := randomOutputs(3, 6, []int{6, 6, 6})
	b := &models.Batch{Targets: []int32{2, 3, 3}}
	logitsGradCheck(t, "rangeCE [2, 4)", rangeCE(b, 2, 4), out)
	d := make([]float32, len(out.Logits))
	rangeCE(b, 2, 4)(out, d)
	for j, v := range d {
		if k := j % 6; (k < 2 || k >= 4) && v != 0 {
			t.Errorf("logit %d (output %d) outside [2, 4) has gradient %g", j, k, v)
		}
	}
}

// lwfTask serves rows of classes 2 and 3 of a 6-way problem with
// Outputs 4 (the classes seen by its end), as a class-incremental suite
// does for the second task.
func lwfTask(seed uint64) *synthTask {
	rng := rand.New(rand.NewPCG(seed, 3))
	const n, in = 40, 5
	b := &models.Batch{Objective: models.Classify, B: n, T: in, Features: make([]float32, n*in), Targets: make([]int32, n), Outputs: 4}
	for i := 0; i < n; i++ {
		y := 2 + i%2
		b.Targets[i] = int32(y)
		for j := 0; j < in; j++ {
			b.Features[i*in+j] = float32(rng.NormFloat64())
		}
		b.Features[i*in] += float32(3 * (2*y - 5))
	}
	return &synthTask{idx: 1, name: "t1", train: b, val: b, test: b}
}

// TestLwFMammothOptions checks LwF's settings for Buzzega et al.'s
// class-incremental LwF: the warm-up moves the head's rows of the task's
// own outputs alone (hidden layers and the other outputs' rows are
// unchanged) and lowers their loss; distil_outputs=old distils only the
// outputs of earlier tasks; l2 adds 2·l2·θ; and the Outputs kept survive
// a state round trip.
func TestLwFMammothOptions(t *testing.T) {
	model, err := models.NewMLP(models.MLPConfig{In: 5, Hidden: []int{8}, Classes: []int{6}, SharedHead: true}, 4)
	if err != nil {
		t.Fatal(err)
	}
	tk := lwfTask(1)
	m, err := New("lwf", Config{"distil_outputs": "old", "warmup": "true", "l2": "0.01"})
	if err != nil {
		t.Fatal(err)
	}
	l := m.(*lwf)
	env := &Env{Model: model, Cfg: TrainConfig{BatchSize: 8, StepsPerTask: 30, LR: 0.1}, RNG: rand.New(rand.NewPCG(1, 1)), Logf: func(string, ...any) {}}
	// Task 0 trained batches with Outputs 2.
	l.outputs = 2
	before := model.Params().Clone()
	ce := func() float64 {
		return rangeCE(tk.train, 2, 4)(outputsOf(t, model, tk.train), nil)
	}
	ce0 := ce()
	if err := m.BeginTask(env, tk); err != nil {
		t.Fatal(err)
	}
	if l.old != 2 {
		t.Fatalf("earlier tasks' outputs %d, want 2", l.old)
	}
	ce1 := ce()
	t.Logf("warm-up: cross-entropy of outputs 2–3 from %.4f to %.4f", ce0, ce1)
	if ce1 >= ce0 {
		t.Errorf("warm-up did not lower the task's loss (%.4f → %.4f)", ce0, ce1)
	}
	for _, tn := range model.Params().Tensors {
		got, was := model.Params().Slice(tn), before.Slice(tn)
		for i := range got {
			changed := got[i] != was[i]
			row := i / max(1, tn.Shape[len(tn.Shape)-1])
			if tn.Kind == models.Bias {
				row = i
			}
			want := tn.Name != "hidden.0.weight" && tn.Name != "hidden.0.bias" && row >= 2 && row < 4
			if changed && !want {
				t.Fatalf("warm-up changed %s[%d] (row %d)", tn.Name, i, row)
			}
		}
	}
	// Teacher = the model before the warm-up; move the model, then the
	// distillation may touch the logits of outputs 0–1 only.
	for i := range model.Params().Data {
		model.Params().Data[i] += 0.05 * float32(math.Sin(float64(i)))
	}
	b := pick(tk.train, env.RNG, 8)
	if _, err := m.TrainBatch(env, b); err != nil {
		t.Fatal(err)
	}
	tn, _ := model.Params().Lookup("head.0.weight")
	g := l.ex.grad
	off := tn.Offset
	var old, other float64
	for k := 0; k < 6; k++ {
		for j := 0; j < 8; j++ {
			v := math.Abs(float64(g[off+k*8+j]))
			if k < 2 {
				old += v
			} else {
				other += v
			}
		}
	}
	if old == 0 || other != 0 {
		t.Errorf("distillation gradient on the head: %g on outputs 0–1, %g on the others; want only outputs 0–1", old, other)
	}
	// l2: AddPenalty adds the distillation gradient and 2·l2·θ.
	gr := model.Grads().Data
	clear(gr)
	dist := append([]float32(nil), g...)
	pen := m.AddPenalty(env)
	var ss float64
	for i, v := range model.Params().Data {
		ss += float64(v) * float64(v)
		if want := dist[i] + 0.02*v; math.Abs(float64(gr[i]-want)) > 1e-6 {
			t.Fatalf("gradient %d: %g, want distillation %g + 2·l2·θ", i, gr[i], dist[i])
		}
	}
	if pen < 0.01*ss {
		t.Errorf("penalty %g below l2·Σθ² = %g", pen, 0.01*ss)
	}
	// State keeps the Outputs.
	l.outputs = 4
	data, err := l.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := New("lwf", Config{"distil_outputs": "old"})
	if err := m2.(*lwf).UnmarshalState(env, data); err != nil {
		t.Fatal(err)
	}
	if l2 := m2.(*lwf); l2.old != 2 || l2.outputs != 4 {
		t.Errorf("state round trip: outputs %d, old %d; want 4, 2", l2.outputs, l2.old)
	}
	// Without Outputs in the batches, both settings refuse to guess.
	plain := lwfTask(2)
	plain.train.Outputs = 0
	m3, _ := New("lwf", Config{"warmup": "true"})
	if err := m3.BeginTask(env, plain); err == nil || !strings.Contains(err.Error(), "Outputs") {
		t.Errorf("warm-up without Outputs: %v", err)
	}
}

func outputsOf(t *testing.T, m *models.MLP, b *models.Batch) *models.Outputs {
	t.Helper()
	var out *models.Outputs
	if _, err := m.ForwardOutputs(b, models.ForwardOptions{}, false, func(o *models.Outputs, _ []float32) float64 { out = o; return 0 }); err != nil {
		t.Fatal(err)
	}
	return out
}
