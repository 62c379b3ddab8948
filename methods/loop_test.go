package methods

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// synthTask is a classification task over fixed synthetic rows.
type synthTask struct {
	idx              int
	name             string
	train, val, test *models.Batch
}

func (t *synthTask) Index() int   { return t.idx }
func (t *synthTask) Name() string { return t.name }

func (t *synthTask) Sample(rng *rand.Rand, n int) (*models.Batch, error) {
	return pick(t.train, rng, n), nil
}

func (t *synthTask) Validation(rng *rand.Rand, n int) (*models.Batch, error) {
	return pick(t.val, rng, n), nil
}

// pick draws n rows of b uniformly with replacement (copies).
func pick(b *models.Batch, rng *rand.Rand, n int) *models.Batch {
	rows := make([]*models.Batch, n)
	for i := range rows {
		rows[i] = Row(b, rng.IntN(b.B), 0)
	}
	out, err := Concat(rows...)
	if err != nil {
		panic(err)
	}
	return out
}

// clusterTasks builds the two-task problem of the behaviour test: 10
// Gaussian features (std 1); task 0's inputs sit at x1 = +2.5, task 1's
// at x1 = −2.5; task 0's label is [x0 > 0], task 1's is [x0 < 0]. A
// shared head can fit both (the sign of x1 tells them apart), but
// training on task 1 alone teaches "x0 > 0 → class 0" everywhere, which
// reverses task 0: naive fine-tuning forgets it.
func clusterTasks(seed uint64) []*synthTask {
	rng := rand.New(rand.NewPCG(seed, 77))
	const in = 10
	mk := func(task, n int) *models.Batch {
		b := &models.Batch{Objective: models.Classify, B: n, T: in,
			Features: make([]float32, n*in), Targets: make([]int32, n), Task: make([]int, n)}
		center := 2.5
		if task == 1 {
			center = -2.5
		}
		for r := 0; r < n; r++ {
			for i := 0; i < in; i++ {
				b.Features[r*in+i] = float32(rng.NormFloat64())
			}
			b.Features[r*in+1] += float32(center)
			pos := b.Features[r*in] > 0
			if pos == (task == 0) {
				b.Targets[r] = 1
			}
			b.Task[r] = task
		}
		return b
	}
	var ts []*synthTask
	for k := 0; k < 2; k++ {
		ts = append(ts, &synthTask{idx: k, name: fmt.Sprintf("cluster%d", k), train: mk(k, 2000), val: mk(k, 300), test: mk(k, 500)})
	}
	return ts
}

// run mirrors the harness's loop (package bench): per task BeginTask,
// StepsPerTask × (TrainBatch, ForwardBackward, AddPenalty, clip at norm
// 1, SGD step), EndTask; env.Step does the same for one batch. It returns
// R, the accuracy matrix: R[i][j] = accuracy on task j after task i
// (row 0 before training).
type runResult struct {
	R     [][]float64
	env   *Env
	model *models.MLP
}

func trainRun(t testing.TB, method string, cfg Config, tasks []*synthTask, seed uint64, steps int) runResult {
	t.Helper()
	m, err := New(method, cfg)
	if err != nil {
		t.Fatal(err)
	}
	model, err := models.NewMLP(models.MLPConfig{In: tasks[0].train.T, Hidden: []int{32}, Classes: []int{2}, SharedHead: true}, seed)
	if err != nil {
		t.Fatal(err)
	}
	opt := &models.SGD{Momentum: 0.9}
	env := &Env{
		Model: model,
		Cfg:   TrainConfig{BatchSize: 32, StepsPerTask: steps, LR: 0.05},
		RNG:   rand.New(rand.NewPCG(seed, 1)),
		Logf:  func(string, ...any) {},
	}
	env.Step = func(b *models.Batch, fo models.ForwardOptions, lr float64) (float64, error) {
		loss, err := model.ForwardBackward(b, fo)
		if err != nil {
			return 0, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, fmt.Errorf("loss %v", loss)
		}
		m.AddPenalty(env)
		clipNorm(model.Grads(), 1)
		opt.Step(model.Params(), model.Grads(), lr)
		return loss, nil
	}
	eval := func() []float64 {
		row := make([]float64, len(tasks))
		for j, tk := range tasks {
			s, err := model.Evaluate(tk.test)
			if err != nil {
				t.Fatal(err)
			}
			row[j] = float64(s.Correct) / float64(s.Total)
		}
		return row
	}
	res := runResult{R: [][]float64{eval()}, env: env, model: model}
	data := rand.New(rand.NewPCG(seed, 2))
	for _, tk := range tasks {
		env.Tasks = append(env.Tasks, tk)
		if err := m.BeginTask(env, tk); err != nil {
			t.Fatal(err)
		}
		for s := 0; s < steps; s++ {
			b, err := m.TrainBatch(env, pick(tk.train, data, env.Cfg.BatchSize))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Step(b, models.ForwardOptions{}, env.Cfg.LR); err != nil {
				t.Fatalf("%s: task %d step %d: %v", method, tk.idx, s, err)
			}
		}
		if err := m.EndTask(env, tk); err != nil {
			t.Fatal(err)
		}
		res.R = append(res.R, eval())
	}
	return res
}

// clipNorm scales g so that its L2 norm is at most mx.
func clipNorm(g *models.Params, mx float64) {
	var ss float64
	for _, v := range g.Data {
		ss += float64(v) * float64(v)
	}
	if n := math.Sqrt(ss); n > mx {
		f := float32(mx / n)
		for i := range g.Data {
			g.Data[i] *= f
		}
	}
}
