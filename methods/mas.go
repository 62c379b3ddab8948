package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// masDefaults are MAS's documented settings.
//
//   - lambda: λ of the penalty λ·Σ_k Ω_k·(θ_k − θ*_k)².
//   - samples: training rows drawn with Sample at each task's end to
//     estimate the importance, one backward pass each.
var masDefaults = map[string]string{
	"lambda":  "1",
	"samples": "200",
}

// mas is memory aware synapses (Aljundi et al. 2018). At the end of each
// task the importance of parameter k is the mean over sampled rows x of
// |∂‖F(x)‖²₂ / ∂θ_k|, where F(x) are the head's logits (the output before
// the softmax; for a token objective, the logits at each target position,
// their squared norms averaged over the row's targets). No label is used.
// Importances add up over the tasks (Ω ← Ω + Ω_task), θ* becomes the
// parameters at the task's end, and later tasks add λ·Σ Ω·(θ − θ*)² to
// the loss (gradient 2λ·Ω·(θ − θ*)).
//
// Memory: three parameter-sized buffers (Ω, θ*, one row's gradient
// while estimating). Compute: O(P) a step; at each task's end one forward
// and backward pass per sampled row.
type mas struct {
	Base
	lambda  float64
	samples int

	omega, theta []float32
}

func init() {
	Register(Info{
		Name:           "mas",
		Summary:        "memory aware synapses: importance |∂‖F(x)‖²/∂θ| from unlabelled rows, penalty λ·Σ Ω·(θ − θ*)²",
		Defaults:       masDefaults,
		Label:          "MAS",
		Rank:           13,
		PlainFirstWake: AlwaysPlain,
		Baseline:       "naive",
		Cost:           "memory +2P (Ω, θ*); compute +O(P) a step, and `samples` forward+backward passes of one row at each task's end",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, masDefaults)
			m := &mas{lambda: s.Float("lambda", 0, math.Inf(1)), samples: s.Int("samples", 1, math.MaxInt32)}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}

// AddPenalty adds the penalty's gradient.
func (m *mas) AddPenalty(env *Env) float64 {
	if m.omega == nil || m.lambda == 0 {
		return 0
	}
	return quadPenalty(env.Model.Params().Data, env.Model.Grads().Data, m.omega, m.theta, m.lambda)
}

// EndTask adds the task's importance and moves the anchor.
func (m *mas) EndTask(env *Env, t TaskData) error {
	ot, err := outputTrainer(env, "mas")
	if err != nil {
		return err
	}
	b, err := t.Sample(env.RNG, m.samples)
	if err != nil {
		return fmt.Errorf("mas: sampling %d rows of task %d (%s): %w", m.samples, t.Index(), t.Name(), err)
	}
	imp, err := MASImportance(ot, env.Model.Grads(), withTask(b, t.Index()))
	if err != nil {
		return fmt.Errorf("mas: importance of task %d (%s): %w", t.Index(), t.Name(), err)
	}
	if m.omega == nil {
		m.omega = imp
	} else {
		for i, v := range imp {
			m.omega[i] += v
		}
	}
	m.theta = append(m.theta[:0], env.Model.Params().Data...)
	env.Logf("mas: task %d (%s): importance from %d rows, mean %.3g (mean Ω %.3g)", t.Index(), t.Name(), b.B, meanOf(imp), meanOf(m.omega))
	return nil
}

// MASImportance returns the mean over the rows of b of |∂‖F(x)‖²₂/∂θ|,
// F(x) the logits at the row's targets (the squared norm averaged over
// them), each from a clean batch-of-one pass; grads is the model's
// gradient buffer, which it overwrites.
func MASImportance(model models.OutputTrainer, grads *models.Params, b *models.Batch) ([]float32, error) {
	if b.B <= 0 {
		return nil, fmt.Errorf("empty batch")
	}
	imp := make([]float32, grads.Len())
	for r := 0; r < b.B; r++ {
		row := Row(b, r, 0)
		row.Weights = nil
		if rowTargets(row) == 0 {
			continue
		}
		if _, err := model.ForwardOutputs(row, models.ForwardOptions{}, true, sqNorm); err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
		for i, v := range grads.Data {
			imp[i] += float32(math.Abs(float64(v)))
		}
	}
	inv := 1 / float32(b.B)
	for i := range imp {
		imp[i] *= inv
	}
	return imp, nil
}

// sqNorm is the OutputLoss ‖z‖²₂ averaged over the targets, gradient 2z/M.
func sqNorm(out *models.Outputs, d []float32) float64 {
	M := len(out.Row)
	var s float64
	for i := 0; i < M; i++ {
		z := out.Logits[i*out.Width : i*out.Width+out.Classes[i]]
		for k, v := range z {
			s += float64(v) * float64(v)
			if d != nil {
				d[i*out.Width+k] = 2 * v / float32(M)
			}
		}
	}
	return s / float64(M)
}

// MarshalState saves Ω and θ* (nil before the first task ends).
func (m *mas) MarshalState() ([]byte, error) {
	w := newStateWriter("mas/1")
	w.Float32s(m.omega)
	w.Float32s(m.theta)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved; env.Model gives the
// number of parameters.
func (m *mas) UnmarshalState(env *Env, data []byte) error {
	n := env.Model.Params().Len()
	r := newStateReader(data, "mas/1")
	omega, theta := r.vec(n, "Ω"), r.vec(n, "θ*")
	if r.err == nil && (omega == nil) != (theta == nil) {
		r.err = fmt.Errorf("saved Ω and θ* disagree on whether a task has ended")
	}
	if err := r.Err(); err != nil {
		return stateErr("mas", err)
	}
	m.omega, m.theta = omega, theta
	return nil
}
