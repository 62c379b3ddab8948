package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/tasks"
)

// The fakes: a model whose parameters θ are pulled towards a per-task
// target t_j (so that training a later task makes it forget an earlier
// one), plain SGD, tasks that draw random token rows, and a few methods.

// events collects what the fakes did, in order.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(format string, args ...any) {
	if e == nil {
		return
	}
	e.mu.Lock()
	e.log = append(e.log, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

// target is task j's optimum for parameter i.
func target(j, i int) float32 { return float32(math.Sin(float64(7*j + i))) }

type fakeModel struct {
	name  string
	p, g  *models.Params
	ev    *events
	calls int // ForwardBackward calls
	nanAt int // ForwardBackward call (1-based) returning NaN; 0 = never
}

func newFakeModel(name string, seed uint64, ev *events) *fakeModel {
	p := models.NewLayout([]models.Tensor{
		{Name: "w", Kind: models.Matrix, Shape: []int{2, 3}},
		{Name: "b", Kind: models.Bias, Shape: []int{3}},
	})
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range p.Data {
		p.Data[i] = float32(rng.NormFloat64() * 0.1)
	}
	return &fakeModel{name: name, p: p, g: p.Like(), ev: ev}
}

func (m *fakeModel) Name() string           { return m.name }
func (m *fakeModel) Params() *models.Params { return m.p }
func (m *fakeModel) Grads() *models.Params  { return m.g }
func (m *fakeModel) rowNoise(b *models.Batch, r int) float32 {
	var s float32
	for _, x := range b.Inputs[r*b.T : (r+1)*b.T] {
		s += float32(x)
	}
	return s / float32(b.T) / 1000
}

func (m *fakeModel) rowLoss(b *models.Batch, r int) float64 {
	var l float64
	for i, th := range m.p.Data {
		d := float64(th - target(b.Task[r], i))
		l += 0.5 * d * d
	}
	return l + float64(m.rowNoise(b, r)*m.p.Data[0])
}

func (m *fakeModel) ForwardBackward(b *models.Batch, opt models.ForwardOptions) (float64, error) {
	m.calls++
	m.ev.add("fb")
	if m.nanAt > 0 && m.calls == m.nanAt {
		return math.NaN(), nil
	}
	m.g.Zero()
	var loss float64
	for r := 0; r < b.B; r++ {
		loss += m.rowLoss(b, r) / float64(b.B)
		for i, th := range m.p.Data {
			m.g.Data[i] += (th - target(b.Task[r], i)) / float32(b.B)
		}
		m.g.Data[0] += m.rowNoise(b, r) / float32(b.B)
	}
	if opt.EmbedNoise != 0 {
		m.ev.add("noise")
	}
	return loss, nil
}

func (m *fakeModel) Losses(b *models.Batch, _ models.ForwardOptions) ([]float64, error) {
	out := make([]float64, b.B)
	for r := range out {
		out[r] = m.rowLoss(b, r)
	}
	return out, nil
}

func (m *fakeModel) Evaluate(b *models.Batch) (models.Score, error) {
	m.ev.add("eval")
	var s models.Score
	for r := 0; r < b.B; r++ {
		for i, th := range m.p.Data {
			d := float64(th - target(b.Task[r], i))
			if math.Abs(d) < 0.25 {
				s.Correct++
			}
			s.Total++
			s.LossSum += 0.5 * d * d
		}
	}
	return s, nil
}

// sgd is plain gradient descent.
type sgd struct{ ev *events }

func (o sgd) Step(p, g *models.Params, lr float64) {
	o.ev.add("opt")
	for i := range p.Data {
		p.Data[i] -= float32(lr) * g.Data[i]
	}
}

type fakeTask struct {
	name    string
	idx     int
	classes int
	closed  *int
}

func (t *fakeTask) Index() int   { return t.idx }
func (t *fakeTask) Name() string { return t.name }
func (t *fakeTask) Classes() int { return t.classes }
func (t *fakeTask) Close() error {
	if t.closed != nil {
		*t.closed++
	}
	return nil
}

func (t *fakeTask) draw(rng *rand.Rand, n int) *models.Batch {
	const T = 4
	b := &models.Batch{Objective: models.NextToken, B: n, T: T, Inputs: make([]int32, n*T), Targets: make([]int32, n*T), Task: make([]int, n)}
	for i := range b.Inputs {
		b.Inputs[i] = int32(rng.IntN(100))
		b.Targets[i] = b.Inputs[i]
	}
	for r := range b.Task {
		b.Task[r] = t.idx
	}
	return b
}

func (t *fakeTask) Sample(rng *rand.Rand, n int) (*models.Batch, error) { return t.draw(rng, n), nil }
func (t *fakeTask) Validation(rng *rand.Rand, n int) (*models.Batch, error) {
	return t.draw(rng, n), nil
}
func (t *fakeTask) Test(batchSize int) ([]*models.Batch, error) {
	rng := rand.New(rand.NewPCG(uint64(len(t.name)), 5))
	return []*models.Batch{t.draw(rng, 2), t.draw(rng, 1)}, nil
}

type fakeStream struct {
	t     *fakeTask
	rng   *rand.Rand
	batch int
}

func (s *fakeStream) Next() (*models.Batch, error) { return s.t.draw(s.rng, s.batch), nil }

func (t *fakeTask) Train(rng *rand.Rand, batchSize int) tasks.Stream {
	return &fakeStream{t: t, rng: rng, batch: batchSize}
}

// recorder logs its hooks; its EndTask takes `sleep` extra steps through
// env.Step, with noise, like a sleeping method.
type recorder struct {
	ev    *events
	sleep int
}

func (m *recorder) BeginTask(env *methods.Env, t methods.TaskData) error {
	names := make([]string, len(env.Tasks))
	for i, x := range env.Tasks {
		names[i] = x.Name()
	}
	m.ev.add("begin:%s tasks=%s steps=%d", t.Name(), strings.Join(names, ","), env.Cfg.StepsPerTask)
	return nil
}

func (m *recorder) TrainBatch(env *methods.Env, b *models.Batch) (*models.Batch, error) {
	m.ev.add("batch")
	return b, nil
}

func (m *recorder) AddPenalty(env *methods.Env) float64 {
	m.ev.add("penalty")
	return 0
}

func (m *recorder) EndTask(env *methods.Env, t methods.TaskData) error {
	m.ev.add("end:%s", t.Name())
	for i := 0; i < m.sleep; i++ {
		b, err := t.Sample(env.RNG, 2)
		if err != nil {
			return err
		}
		opt := models.ForwardOptions{EmbedNoise: 0.1, RNG: env.RNG}
		if _, err := env.Step(b, opt, env.Cfg.LR*0.1); err != nil {
			return err
		}
	}
	return nil
}

// sleeper sleeps methods.SleepSteps(env.Cfg, compression, sleep_fraction)
// steps after every task, like AISP and replay-matched, and counts them.
type sleeper struct {
	methods.Base
	compression, fraction float64
	nights                *[]int
}

func (m *sleeper) EndTask(env *methods.Env, t methods.TaskData) error {
	n := methods.SleepSteps(env.Cfg, m.compression, m.fraction)
	if m.nights != nil {
		*m.nights = append(*m.nights, n)
	}
	for i := 0; i < n; i++ {
		b, err := t.Sample(env.RNG, 2)
		if err != nil {
			return err
		}
		if _, err := env.Step(b, models.ForwardOptions{}, env.Cfg.LR*0.1); err != nil {
			return err
		}
	}
	return nil
}

// anchor pulls θ towards its value at the end of the last task with
// strength lambda (an EWC stand-in with a tunable key).
type anchor struct {
	methods.Base
	lambda float64
	star   []float32
}

func (m *anchor) EndTask(env *methods.Env, t methods.TaskData) error {
	m.star = append(m.star[:0], env.Model.Params().Data...)
	return nil
}

func (m *anchor) AddPenalty(env *methods.Env) float64 {
	if m.star == nil {
		return 0
	}
	p, g := env.Model.Params().Data, env.Model.Grads().Data
	var pen float64
	for i := range p {
		d := p[i] - m.star[i]
		g[i] += float32(m.lambda) * d
		pen += 0.5 * m.lambda * float64(d*d)
	}
	return pen
}

func parseFloat(cfg methods.Config, key, def string) (float64, error) {
	v, ok := cfg[key]
	if !ok {
		v = def
	}
	return strconv.ParseFloat(v, 64)
}

// fakeRegistry holds naive, sleeper (with AISP's budget keys) and anchor
// (with a tunable lambda).
func fakeRegistry(nights *[]int) *methods.Registry {
	r := &methods.Registry{}
	r.Register(methods.Info{Name: "naive", Summary: "no-op", Defaults: map[string]string{},
		New: func(methods.Config) (methods.Method, error) { return methods.Base{}, nil }})
	r.Register(methods.Info{Name: "sleeper", Summary: "sleeps", Defaults: map[string]string{"compression": "10", "sleep_fraction": "0.1"},
		Baseline: "naive",
		Night: func(cfg methods.Config, _ int, ratio float64) (methods.Config, error) {
			out := methods.Config{"sleep_fraction": fmt.Sprint(ratio / 10)}
			for k, v := range cfg {
				out[k] = v
			}
			return out, nil
		},
		New: func(cfg methods.Config) (methods.Method, error) {
			for k := range cfg {
				if k != "compression" && k != "sleep_fraction" {
					return nil, fmt.Errorf("unknown key %q", k)
				}
			}
			c, err := parseFloat(cfg, "compression", "10")
			if err != nil {
				return nil, err
			}
			f, err := parseFloat(cfg, "sleep_fraction", "0.1")
			if err != nil {
				return nil, err
			}
			return &sleeper{compression: c, fraction: f, nights: nights}, nil
		}})
	r.Register(methods.Info{Name: "anchor", Summary: "pulls to the last task's end", Defaults: map[string]string{"lambda": "1"},
		New: func(cfg methods.Config) (methods.Method, error) {
			l, err := parseFloat(cfg, "lambda", "1")
			if err != nil {
				return nil, err
			}
			return &anchor{lambda: l}, nil
		}})
	return r
}

// fakeBuilders builds fake models ("fake", "fake-big"), tasks and SGD.
// failAt, when positive, makes the failAt-th model built return NaN at
// its 3rd step (an interruption).
func fakeBuilders(nights *[]int, failAt int) Builders {
	var mu sync.Mutex
	built := 0
	return Builders{
		Describe: func(name string) (ModelInfo, error) {
			if name != "fake" && name != "fake-big" {
				return ModelInfo{}, fmt.Errorf("unknown model %q (valid: fake, fake-big)", name)
			}
			return ModelInfo{Tokenizer: "fake-tok", LM: models.NextToken}, nil
		},
		NewModel: func(name string, classes []int, threads int, seed uint64) (models.Model, error) {
			m := newFakeModel(name, seed, nil)
			mu.Lock()
			built++
			if built == failAt {
				m.nanAt = 3
			}
			mu.Unlock()
			return m, nil
		},
		NewOptimizer: func(p *models.Params, wd float64) Optimizer { return sgd{} },
		OpenTask: func(spec tasks.Spec, index int) (Task, error) {
			if spec.Domain == "missing" {
				return nil, fmt.Errorf("no files for domain %q", spec.Domain)
			}
			return &fakeTask{name: spec.Domain, idx: index}, nil
		},
		Methods: fakeRegistry(nights),
		Backend: "fake", Optimizer: "sgd",
	}
}
