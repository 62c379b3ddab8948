package methods

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// TestMethodStateDecode saves SI, MAS, LwF, A-GEM and DER++ in the middle
// of their second task, with a step's TrainBatch done and its AddPenalty
// not (so that the pending extra gradient, reference gradient or
// integration step is in the state too), and checks that the state
// restores into a fresh method that saves the same bytes; and that a
// truncated state, one with bytes left over, another method's state and
// randomly corrupted bytes are refused or decoded without a panic, the
// error naming the method. DER++ runs with topk 1 as well, so that its
// stored outputs take the top-k form on the MLP's two-class head.
func TestMethodStateDecode(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"si", nil},
		{"mas", Config{"samples": "8"}},
		{"lwf", nil},
		{"agem", Config{"buffer": "16", "per_task": "8"}},
		{"derpp", Config{"buffer": "16"}},
		{"derpp", Config{"buffer": "16", "topk": "1"}},
	}
	for _, c := range cases {
		tasks := clusterTasks(3)
		model, err := models.NewMLP(models.MLPConfig{In: tasks[0].train.T, Hidden: []int{8}, Classes: []int{2}, SharedHead: true}, 3)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(c.name, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		env := &Env{Model: model, Cfg: TrainConfig{BatchSize: 8, StepsPerTask: 4, LR: 0.05},
			RNG: rand.New(rand.NewPCG(3, 1)), Logf: func(string, ...any) {}}
		opt := &models.SGD{}
		env.Step = func(b *models.Batch, fo models.ForwardOptions, lr float64) (float64, error) {
			loss, err := model.ForwardBackward(b, fo)
			if err != nil {
				return 0, err
			}
			m.AddPenalty(env)
			opt.Step(model.Params(), model.Grads(), lr)
			return loss, nil
		}
		data := rand.New(rand.NewPCG(3, 2))
		for _, tk := range tasks {
			env.Tasks = append(env.Tasks, tk)
			if err := m.BeginTask(env, tk); err != nil {
				t.Fatal(err)
			}
			for s := 0; s < 4; s++ {
				b, err := m.TrainBatch(env, pick(tk.train, data, 8))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := env.Step(b, models.ForwardOptions{}, env.Cfg.LR); err != nil {
					t.Fatal(err)
				}
			}
			if tk.idx == 0 {
				if err := m.EndTask(env, tk); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := m.TrainBatch(env, pick(tasks[1].train, data, 8)); err != nil {
			t.Fatal(err)
		}
		state, err := m.(Checkpointer).MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		fresh := func() Checkpointer {
			f, err := New(c.name, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			return f.(Checkpointer)
		}
		f := fresh()
		if err := f.UnmarshalState(env, bytes.Clone(state)); err != nil {
			t.Fatalf("%s %v: restoring its own state: %v", c.name, c.cfg, err)
		}
		again, err := f.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, state) {
			t.Errorf("%s %v: a restored method saves %d bytes that differ from the %d it was restored from", c.name, c.cfg, len(again), len(state))
		}
		if d, ok := m.(*derpp); ok && c.cfg["topk"] == "1" {
			if it := d.res.Items(); len(it) == 0 || len(it[0].outs) == 0 || it[0].outs[0].ids == nil {
				t.Fatalf("derpp topk 1: the buffer holds no top-k outputs")
			}
		}
		// The step waiting for AddPenalty (SI's integration, A-GEM's
		// reference gradient, LwF's and DER++'s extra gradient) goes on
		// the same in the restored method.
		g0 := make([]float32, model.Grads().Len())
		for i := range g0 {
			g0[i] = float32(i%7) - 3
		}
		if a, ok := m.(*agem); ok && a.have {
			for i, v := range a.gref {
				g0[i] = -v // against the reference: projected
			}
		}
		grads := func(m Method) []float32 {
			copy(model.Grads().Data, g0)
			m.AddPenalty(env)
			return slices.Clone(model.Grads().Data)
		}
		if a, b := grads(m), grads(f.(Method)); !slices.Equal(a, b) {
			t.Errorf("%s %v: AddPenalty of the restored method gives another gradient", c.name, c.cfg)
		} else if slices.Equal(a, g0) {
			t.Errorf("%s %v: AddPenalty of the step in flight left the gradient as it was; the test saves no pending step", c.name, c.cfg)
		}

		refused := func(what string, data []byte) {
			t.Helper()
			err := fresh().UnmarshalState(env, data)
			if err == nil {
				t.Errorf("%s %v: %s was accepted", c.name, c.cfg, what)
			} else if !strings.HasPrefix(err.Error(), c.name+": ") {
				t.Errorf("%s %v: %s: error %q does not name the method", c.name, c.cfg, what, err)
			}
		}
		// Every cut in the first 256 bytes (tag, counters, lengths) and
		// about 300 spread over the rest.
		stride := max(1, (len(state)-256)/300)
		for n := 0; n < len(state); {
			refused(fmt.Sprintf("a state cut to %d of %d bytes", n, len(state)), state[:n])
			if n < 256 {
				n++
			} else {
				n += stride
			}
		}
		refused("a state with a byte left over", append(bytes.Clone(state), 0))
		other := "mas"
		if c.name == "mas" {
			other = "si"
		}
		om, err := New(other, nil)
		if err != nil {
			t.Fatal(err)
		}
		os, err := om.(Checkpointer).MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		refused(other+"'s state", os)

		// Corrupted bytes must not panic; many are refused, some (a flipped
		// parameter value) decode to another valid state.
		rng := rand.New(rand.NewPCG(4, 4))
		for i := 0; i < 300; i++ {
			bad := bytes.Clone(state)
			for k := 0; k < 1+rng.IntN(3); k++ {
				bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
			}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s %v: UnmarshalState of a corrupted state panicked: %v", c.name, c.cfg, p)
					}
				}()
				_ = fresh().UnmarshalState(env, bad)
			}()
		}
	}
}
