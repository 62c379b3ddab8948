package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// ewcDefaults are EWC's documented settings.
//
//   - lambda: penalty strength λ, for the per-token Fisher below (a row's
//     summed log-likelihood). The harness tunes it on the validation
//     splits over the profile's grid; 100 is only a starting point.
//   - lambda_grid: the recommended tuning grid, 0 (no penalty) and six
//     decades; the profiles' grids start from it (EWC itself only checks
//     that it parses).
//   - fisher_samples: training rows drawn with Sample at the end of each
//     task to estimate the Fisher; 0 means every training row of the task
//     once (for tasks that report NumTrain, as the image suites' do).
//   - online: keep one running (F, θ*) anchor, F ← γF + F_new (online
//     EWC, Schwarz et al. 2018), instead of one anchor per past task.
//   - gamma: γ, the decay of the old Fisher in online mode.
//   - fisher_weight: "none" (the empirical Fisher: every row's squared
//     gradient counts alike) or "prob" (each row's squared gradient
//     weighted by the model's probability of the row's label,
//     exp(−row loss): for a classification row p(y|x), as Buzzega et
//     al.'s online EWC computes its Fisher, models/ewc_on.py of
//     aimagelab/mammoth; for a row of several targets the geometric mean
//     of their probabilities).
var ewcDefaults = map[string]string{
	"lambda":         "100",
	"lambda_grid":    "0,1,10,100,1000,10000,100000",
	"fisher_samples": "200",
	"online":         "false",
	"gamma":          "1",
	"fisher_weight":  "none",
}

// ewc is elastic weight consolidation (Kirkpatrick et al. 2017). At the
// end of each task it estimates the diagonal Fisher F of the task and
// stores θ* (a copy of the parameters); while learning later tasks it
// adds (λ/2)·Σ_i F_i·(θ_i − θ*_i)² to the loss, summed over the anchors.
//
// The Fisher is the empirical Fisher of each sampled row's log-likelihood
// log p(row) = Σ_targets log p(target | context): the squared gradient of
// the row's SUMMED negative log-likelihood at its observed label or
// tokens, averaged over the rows (see Fisher). For classification a row
// has one target, so that is exactly (∂ log p(y|x)/∂θ)²; for a language
// modelling row of T targets it is T² times the square of the gradient of
// the mean token loss that the training step sees.
//
// The penalty is added to a loss that is a mean over tokens, so λ sets
// how many tokens' worth of loss a unit of the row-level penalty weighs;
// the harness tunes it (lambda_grid). EndTask logs the mean penalty of the
// task's steps beside the training loss, to read that balance.
//
// Memory: without online mode EWC keeps two parameter-sized buffers per
// past task (F and θ*); online mode keeps two in all.
type ewc struct {
	Base
	lambda  float64
	samples int
	online  bool
	gamma   float64
	byProb  bool // fisher_weight=prob

	anchors []ewcAnchor

	// The penalty of the current task's steps, for EndTask's log line.
	penSum   float64
	penSteps int
}

type ewcAnchor struct {
	fisher, theta *models.Params
}

func init() {
	Register(Info{
		Name:           "ewc",
		Summary:        "elastic weight consolidation: diagonal empirical Fisher penalty, per task or online",
		Defaults:       ewcDefaults,
		Label:          "EWC",
		Rank:           10,
		PlainFirstWake: AlwaysPlain,
		Role:           RoleEWC,
		Baseline:       "naive",
		New: func(cfg Config) (Method, error) {
			return newEWC(cfg, ewcDefaults)
		},
	})
}

// newEWC parses cfg against defaults (ewcDefaults, or a variant's).
func newEWC(cfg Config, defaults map[string]string) (*ewc, error) {
	s := Parse(cfg, defaults)
	e := &ewc{
		lambda:  s.Float("lambda", 0, math.Inf(1)),
		samples: s.Int("fisher_samples", 0, math.MaxInt32),
		online:  s.Bool("online"),
		gamma:   s.Float("gamma", 0, 1),
		byProb:  s.Choice("fisher_weight", "none", "prob") == "prob",
	}
	s.Floats("lambda_grid", 0, math.Inf(1))
	if err := s.Err(); err != nil {
		return nil, err
	}
	return e, nil
}

// BeginTask starts the task's penalty tally.
func (e *ewc) BeginTask(*Env, TaskData) error {
	e.penSum, e.penSteps = 0, 0
	return nil
}

// EndTask estimates the task's Fisher and stores the anchor.
func (e *ewc) EndTask(env *Env, t TaskData) error {
	n := e.samples
	if n == 0 {
		nt, ok := t.(interface{ NumTrain() int })
		if !ok || nt.NumTrain() <= 0 {
			return fmt.Errorf("ewc: fisher_samples=0 (every training row) needs a task that reports its training rows; task %d (%s) does not", t.Index(), t.Name())
		}
		n = nt.NumTrain()
	}
	b, err := t.Sample(env.RNG, n)
	if err != nil {
		return fmt.Errorf("ewc: sampling %d rows of task %d (%s) for the Fisher: %w", n, t.Index(), t.Name(), err)
	}
	f, loss, err := fisher(env.Model, withTask(b, t.Index()), e.byProb)
	if err != nil {
		return fmt.Errorf("ewc: Fisher of task %d (%s): %w", t.Index(), t.Name(), err)
	}
	theta := env.Model.Params().Clone()
	if e.online && len(e.anchors) == 1 {
		old := e.anchors[0].fisher.Data
		for i, v := range f.Data {
			old[i] = float32(e.gamma)*old[i] + v
		}
		e.anchors[0].theta = theta
	} else {
		e.anchors = append(e.anchors, ewcAnchor{fisher: f, theta: theta})
	}
	var sum float64
	for _, v := range f.Data {
		sum += float64(v)
	}
	pen := "no penalty (no anchor yet, or λ = 0)"
	if e.penSteps > 0 {
		mean := e.penSum / float64(e.penSteps)
		pen = fmt.Sprintf("mean penalty %.3g (λ × %.3g) over %d steps, %.3g× the token loss at the task's end",
			mean, mean/e.lambda, e.penSteps, mean/loss)
	}
	env.Logf("ewc: task %d (%s): %s (loss %.4f); Fisher from %d rows, mean %.3g, %d anchor(s)",
		t.Index(), t.Name(), pen, loss, b.B, sum/float64(len(f.Data)), len(e.anchors))
	return nil
}

// AddPenalty adds λ·F·(θ − θ*) to the gradients and returns
// (λ/2)·Σ F·(θ − θ*)², summed over the anchors.
func (e *ewc) AddPenalty(env *Env) float64 {
	if len(e.anchors) == 0 || e.lambda == 0 {
		return 0
	}
	p, g := env.Model.Params().Data, env.Model.Grads().Data
	lam := float32(e.lambda)
	var pen float64
	for _, a := range e.anchors {
		f, th := a.fisher.Data, a.theta.Data
		for i, v := range p {
			d := v - th[i]
			fd := f[i] * d
			g[i] += lam * fd
			pen += float64(fd) * float64(d)
		}
	}
	pen *= e.lambda / 2
	e.penSum += pen
	e.penSteps++
	return pen
}

// Fisher returns the diagonal empirical Fisher of model on the rows of
// b: the mean over rows of the squared gradient of the row's summed
// negative log-likelihood −Σ_targets log p(target), each from a clean
// batch-of-one ForwardBackward (row weights ignored). ForwardBackward
// gives the gradient of the row's MEAN loss over its targets, so each
// row's gradient is multiplied by its number of targets (Targets ≥ 0, as
// the models count them: every labelled position of a next-token or
// masked row, one per labelled classification row) before squaring. A
// row without targets has log-likelihood 0 and adds 0. It overwrites
// model.Grads.
func Fisher(model models.Model, b *models.Batch) (*models.Params, error) {
	f, _, err := fisher(model, b, false)
	return f, err
}

// fisher is Fisher, also returning the mean over the rows with targets
// of each row's mean token loss (the training loss's scale). With byProb
// each row's squared gradient is weighted by exp(−its mean token loss)
// (fisher_weight=prob).
func fisher(model models.Model, b *models.Batch, byProb bool) (*models.Params, float64, error) {
	if b.B <= 0 {
		return nil, 0, fmt.Errorf("fisher: empty batch")
	}
	f := model.Grads().Like()
	var loss float64
	var rows int
	for r := 0; r < b.B; r++ {
		row := Row(b, r, 0)
		row.Weights = nil
		n := rowTargets(row)
		if n == 0 {
			continue
		}
		l, err := model.ForwardBackward(row, models.ForwardOptions{})
		if err != nil {
			return nil, 0, fmt.Errorf("fisher: row %d: %w", r, err)
		}
		loss += l
		rows++
		n2 := float32(n) * float32(n)
		if byProb {
			n2 *= float32(math.Exp(-l))
		}
		for i, v := range model.Grads().Data {
			f.Data[i] += n2 * v * v
		}
	}
	inv := 1 / float32(b.B)
	for i := range f.Data {
		f.Data[i] *= inv
	}
	if rows > 0 {
		loss /= float64(rows)
	}
	return f, loss, nil
}

// rowTargets counts the targets of a one-row batch as the models do:
// the entries of Targets that are ≥ 0 (−1 marks an ignored position).
func rowTargets(row *models.Batch) int {
	n := 0
	for _, t := range row.Targets {
		if t >= 0 {
			n++
		}
	}
	return n
}

// MarshalState saves the anchors (Fisher and θ* of each, or the one
// running anchor of online mode) and the current task's penalty tally.
func (e *ewc) MarshalState() ([]byte, error) {
	w := newStateWriter("ewc/1")
	w.Int(len(e.anchors))
	for _, a := range e.anchors {
		w.params(a.fisher)
		w.params(a.theta)
	}
	w.Float64(e.penSum)
	w.Int(e.penSteps)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved; env.Model gives the
// parameter layout of the anchors.
func (e *ewc) UnmarshalState(env *Env, data []byte) error {
	r := newStateReader(data, "ewc/1")
	n := r.count(1)
	var anchors []ewcAnchor
	for i := 0; i < n && r.err == nil; i++ {
		f := r.params(env.Model.Params())
		th := r.params(env.Model.Params())
		anchors = append(anchors, ewcAnchor{fisher: f, theta: th})
	}
	sum, steps := r.Float64(), r.Int()
	if err := r.Err(); err != nil {
		return stateErr("ewc", err)
	}
	e.anchors, e.penSum, e.penSteps = anchors, sum, steps
	return nil
}
