package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// ewcDefaults are EWC's documented settings.
//
//   - lambda: penalty strength λ. The harness tunes it on the validation
//     splits over lambda_grid; 100 is only a starting point.
//   - lambda_grid: the recommended tuning grid (read by the harness; EWC
//     itself only checks that it parses).
//   - fisher_samples: training rows drawn with Sample at the end of each
//     task to estimate the Fisher.
//   - online: keep one running (F, θ*) anchor, F ← γF + F_new (online
//     EWC, Schwarz et al. 2018), instead of one anchor per past task.
//   - gamma: γ, the decay of the old Fisher in online mode.
var ewcDefaults = map[string]string{
	"lambda":         "100",
	"lambda_grid":    "1,10,100,1000,10000",
	"fisher_samples": "200",
	"online":         "false",
	"gamma":          "1",
}

// ewc is elastic weight consolidation (Kirkpatrick et al. 2017). At the
// end of each task it estimates the diagonal Fisher F of the task and
// stores θ* (a copy of the parameters); while learning later tasks it
// adds (λ/2)·Σ_i F_i·(θ_i − θ*_i)² to the loss, summed over the anchors.
//
// The Fisher is the empirical Fisher: the squared gradient of each
// sampled row's loss at its observed label (or observed tokens), one
// batch-of-one ForwardBackward per row, averaged over the rows. For
// classification that is exactly (∂ log p(y|x)/∂θ)²; for a language
// modelling row the loss is the row's mean token cross-entropy, so its
// gradient is the per-row log-likelihood's divided by the row's target
// count (a constant scale that λ's tuning absorbs).
//
// Memory: without online mode EWC keeps two parameter-sized buffers per
// past task (F and θ*); online mode keeps two in all.
type ewc struct {
	Base
	lambda  float64
	samples int
	online  bool
	gamma   float64

	anchors []ewcAnchor
}

type ewcAnchor struct {
	fisher, theta *models.Params
}

func init() {
	Register(Info{
		Name:     "ewc",
		Summary:  "elastic weight consolidation: diagonal empirical Fisher penalty, per task or online",
		Defaults: ewcDefaults,
		Label:    "EWC",
		Rank:     10,
		Role:     RoleEWC,
		Baseline: "naive",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, ewcDefaults)
			e := &ewc{
				lambda:  s.Float("lambda", 0, math.Inf(1)),
				samples: s.Int("fisher_samples", 1, math.MaxInt32),
				online:  s.Bool("online"),
				gamma:   s.Float("gamma", 0, 1),
			}
			s.Floats("lambda_grid", 0, math.Inf(1))
			if err := s.Err(); err != nil {
				return nil, err
			}
			return e, nil
		},
	})
}

// EndTask estimates the task's Fisher and stores the anchor.
func (e *ewc) EndTask(env *Env, t TaskData) error {
	b, err := t.Sample(env.RNG, e.samples)
	if err != nil {
		return fmt.Errorf("ewc: sampling %d rows of task %d (%s) for the Fisher: %w", e.samples, t.Index(), t.Name(), err)
	}
	f, err := Fisher(env.Model, withTask(b, t.Index()))
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
	env.Logf("ewc: task %d (%s): Fisher from %d rows, mean %.3g, %d anchor(s)", t.Index(), t.Name(), b.B, sum/float64(len(f.Data)), len(e.anchors))
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
	return e.lambda / 2 * pen
}

// Fisher returns the diagonal empirical Fisher of model on the rows of
// b: the mean over rows of the squared gradient of the row's loss, each
// from a clean batch-of-one ForwardBackward (row weights ignored). It
// overwrites model.Grads.
func Fisher(model models.Model, b *models.Batch) (*models.Params, error) {
	if b.B <= 0 {
		return nil, fmt.Errorf("fisher: empty batch")
	}
	f := model.Grads().Like()
	for r := 0; r < b.B; r++ {
		row := Row(b, r, 0)
		row.Weights = nil
		if _, err := model.ForwardBackward(row, models.ForwardOptions{}); err != nil {
			return nil, fmt.Errorf("fisher: row %d: %w", r, err)
		}
		for i, v := range model.Grads().Data {
			f.Data[i] += v * v
		}
	}
	inv := 1 / float32(b.B)
	for i := range f.Data {
		f.Data[i] *= inv
	}
	return f, nil
}
