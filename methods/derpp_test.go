package methods

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestDERMatchGrad checks DER++'s logit-matching loss and gradient: the
// mean squared error against stored full logits, and the (k+1)-bin
// cross-entropy against stored top-k log-probabilities, against finite
// differences; and that both are at their minimum (gradient 0) when the
// outputs are those stored.
func TestDERMatchGrad(t *testing.T) {
	d := &derpp{topk: 3}
	stored := randomOutputs(4, 6, []int{3, 6, 6})
	ents := make([]*derRow, 3)
	for i := range ents {
		z := stored.Logits[i*6 : i*6+stored.Classes[i]]
		ents[i] = &derRow{outs: []derOut{d.record(z)}}
	}
	if ents[0].outs[0].ids != nil || ents[1].outs[0].ids == nil {
		t.Fatalf("3 logits with topk 3 must be kept whole, 6 as top 3")
	}
	if n := ents[1].outs[0].bytes(); n != 3*8+4 {
		t.Errorf("a top-3 target takes %d bytes, want 3·8 + 4 = 28", n)
	}
	logitsGradCheck(t, "DER match", derMatch(ents), randomOutputs(5, 6, []int{3, 6, 6}))

	g := make([]float32, len(stored.Logits))
	derMatch(ents)(stored, g)
	for j, v := range g {
		if math.Abs(float64(v)) > 1e-6 {
			t.Errorf("gradient at the stored outputs: ∂/∂z_%d = %g, want 0", j, v)
		}
	}
	// The stored top-k bins hold all the mass: Σ P_k + P_rest = 1.
	o := ents[2].outs[0]
	s := math.Exp(float64(o.rest))
	for _, v := range o.vals {
		s += math.Exp(float64(v))
	}
	if math.Abs(s-1) > 1e-5 {
		t.Errorf("stored top-3 probabilities and rest sum to %.7f, want 1", s)
	}
}

// TestTextMethods runs DER++ (top-k outputs) and LwF (next-token
// distillation) on a tiny decoder's next-token batches: after a first
// task their extra gradient must change the step's, and DER++ must store
// topk·8 + 4 bytes per target position.
func TestTextMethods(t *testing.T) {
	cfg := models.Config{Name: "tiny-lm", Arch: models.Decoder, Layers: 1, DModel: 8, Heads: 2, DFF: 16, Ctx: 6, Vocab: 40}
	batch := func(seed uint64) *models.Batch {
		rng := rand.New(rand.NewPCG(seed, 1))
		b := &models.Batch{Objective: models.NextToken, B: 4, T: 6, Inputs: make([]int32, 24), Targets: make([]int32, 24)}
		for i := range b.Inputs {
			b.Inputs[i] = int32(rng.IntN(40))
		}
		for i := range b.Targets {
			b.Targets[i] = int32(rng.IntN(40))
		}
		return b
	}
	for _, name := range []string{"derpp", "lwf"} {
		model, err := models.NewTransformer(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(name, Config{})
		if name == "derpp" {
			m, err = New(name, Config{"buffer": "8", "topk": "5"})
		}
		if err != nil {
			t.Fatal(err)
		}
		env := &Env{Model: model, RNG: rand.New(rand.NewPCG(2, 2)), Logf: func(string, ...any) {}}
		var worst float64
		for task := 0; task < 2; task++ {
			tk := &synthTask{idx: task, name: fmt.Sprint("t", task)}
			if err := m.BeginTask(env, tk); err != nil {
				t.Fatal(err)
			}
			for s := 0; s < 3; s++ {
				b, err := m.TrainBatch(env, batch(uint64(10*task+s)))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if _, err := model.ForwardBackward(b, models.ForwardOptions{}); err != nil {
					t.Fatal(err)
				}
				g0 := model.Grads().Clone()
				m.AddPenalty(env)
				if task == 1 {
					var d, n float64
					for i, v := range model.Grads().Data {
						d += math.Abs(float64(v - g0.Data[i]))
						n += math.Abs(float64(g0.Data[i]))
					}
					worst = math.Max(worst, d/n)
				}
				(&models.SGD{}).Step(model.Params(), model.Grads(), 0.1)
			}
		}
		if worst < 1e-3 {
			t.Errorf("%s on a language model: the step's gradient changed by at most %.3g in the second task", name, worst)
		}
		if d, ok := m.(*derpp); ok {
			// 8 rows × 6 target positions × (5·8 + 4) bytes.
			if want := 8 * 6 * (5*8 + 4); d.OutputBytes() != want {
				t.Errorf("derpp stores %d bytes of outputs, want 8·6·(5·8+4) = %d", d.OutputBytes(), want)
			}
		}
	}
}
