package methods

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// BenchmarkEWCPenalty times AddPenalty with 5 per-task anchors on the
// 478,410-parameter 784-400-400-10 MLP (a per-step cost of EWC).
func BenchmarkEWCPenalty(b *testing.B) {
	model, _ := models.NewMLP(models.MLPConfig{In: 784, Hidden: []int{400, 400}, Classes: []int{10}}, 1)
	e := &ewc{lambda: 100}
	for k := 0; k < 5; k++ {
		f := model.Params().Like()
		for i := range f.Data {
			f.Data[i] = float32(i%5) * 0.01
		}
		e.anchors = append(e.anchors, ewcAnchor{fisher: f, theta: model.Params().Clone()})
	}
	env := &Env{Model: model}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.AddPenalty(env)
	}
	b.ReportMetric(float64(b.N)*5*float64(model.Params().Len())/b.Elapsed().Seconds()/1e6, "Mparam-anchors/s")
}

// BenchmarkSHN times elementwise SHN over the same MLP's matrices.
func BenchmarkSHN(b *testing.B) {
	model, _ := models.NewMLP(models.MLPConfig{In: 784, Hidden: []int{400, 400}, Classes: []int{10}}, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range model.Params().Data {
		model.Params().Data[i] = float32(rng.NormFloat64() * 0.05)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		SHN(model.Params(), 1, SHNElementwise)
	}
	b.ReportMetric(float64(b.N)*float64(model.Params().Len())/b.Elapsed().Seconds()/1e6, "Mparams/s")
}

// benchStep times one training step of method name (TrainBatch, the
// step's forward and backward, AddPenalty, SGD) on the 784-100-100-10
// MLP of Buzzega et al. with batches of 128, after one task of 40 steps
// so that anchors, importances and buffers are in place. Its ns/op beside
// BenchmarkStepNaive's is the method's compute per step relative to
// naive; "state-MB" is the memory the method holds beyond the model.
func benchStep(b *testing.B, name string, cfg Config) {
	model, err := models.NewMLP(models.MLPConfig{In: 784, Hidden: []int{100, 100}, Classes: []int{10}, SharedHead: true}, 1)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(name, cfg)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(task int) *synthTask {
		tb := &models.Batch{Objective: models.Classify, B: 1024, T: 784, Features: make([]float32, 1024*784), Targets: make([]int32, 1024), Task: make([]int, 1024)}
		for i := range tb.Features {
			tb.Features[i] = float32(rng.Float64())
		}
		for i := range tb.Targets {
			tb.Targets[i] = int32(rng.IntN(10))
			tb.Task[i] = task
		}
		return &synthTask{idx: task, name: fmt.Sprint("t", task), train: tb, test: tb}
	}
	env := &Env{Model: model, RNG: rand.New(rand.NewPCG(1, 3)), Logf: func(string, ...any) {}, Cfg: TrainConfig{BatchSize: 128, StepsPerTask: 40, LR: 0.1}}
	step := func(tk *synthTask, data *rand.Rand) {
		batch, err := m.TrainBatch(env, pick(tk.train, data, 128))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := model.ForwardBackward(batch, models.ForwardOptions{}); err != nil {
			b.Fatal(err)
		}
		m.AddPenalty(env)
		(&models.SGD{}).Step(model.Params(), model.Grads(), 0.1)
	}
	data := rand.New(rand.NewPCG(4, 4))
	for k, tk := range []*synthTask{mk(0), mk(1)} {
		env.Tasks = append(env.Tasks, tk)
		if err := m.BeginTask(env, tk); err != nil {
			b.Fatal(err)
		}
		if k == 1 {
			break
		}
		for s := 0; s < 40; s++ {
			step(tk, data)
		}
		if err := m.EndTask(env, tk); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	tk := env.Tasks[1].(*synthTask)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(tk, data)
	}
	b.StopTimer()
	b.ReportMetric(float64(stateBytes(m))/1e6, "state-MB")
}

// stateBytes is the memory a method holds beyond the model: its
// parameter-sized buffers and buffered rows (4 bytes a float32 or int32).
func stateBytes(m Method) int {
	f := func(xs ...[]float32) int {
		n := 0
		for _, x := range xs {
			n += 4 * len(x)
		}
		return n
	}
	rows := func(items []*models.Batch) int {
		n := 0
		for _, r := range items {
			n += 4 * (len(r.Features) + len(r.Inputs) + len(r.Targets) + len(r.Task))
		}
		return n
	}
	switch m := m.(type) {
	case *si:
		return f(m.omega, m.theta, m.w, m.prev, m.g, m.start)
	case *mas:
		return f(m.omega, m.theta)
	case *lwf:
		return f(m.teacher, m.saved, m.ex.grad)
	case *agem:
		var rs []*models.Batch
		for _, e := range m.mem.res.Items() {
			rs = append(rs, e.row)
		}
		return f(m.gref) + rows(rs)
	case *derpp:
		var rs []*models.Batch
		for _, e := range m.res.Items() {
			rs = append(rs, e.row)
		}
		return f(m.ex.grad) + rows(rs) + m.bytes
	case *replay:
		var rs []*models.Batch
		for _, e := range m.mem.res.Items() {
			rs = append(rs, e.row)
		}
		return rows(rs)
	}
	return 0
}

func BenchmarkStepNaive(b *testing.B)  { benchStep(b, "naive", nil) }
func BenchmarkStepSI(b *testing.B)     { benchStep(b, "si", nil) }
func BenchmarkStepMAS(b *testing.B)    { benchStep(b, "mas", nil) }
func BenchmarkStepLwF(b *testing.B)    { benchStep(b, "lwf", nil) }
func BenchmarkStepReplay(b *testing.B) { benchStep(b, "replay", Config{"buffer": "500"}) }
func BenchmarkStepAGEM(b *testing.B) {
	benchStep(b, "agem", Config{"buffer": "500", "per_task": "500"})
}
func BenchmarkStepDERpp(b *testing.B) { benchStep(b, "derpp", Config{"buffer": "500"}) }
