package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// lwfDefaults are LwF's documented settings.
//
//   - weight: λ_o, the weight of the distillation loss beside the task's
//     cross-entropy (Li & Hoiem use 1).
//   - temperature: T of the softened distributions (Li & Hoiem use 2).
//   - heads: "own" distils the outputs the current rows are trained
//     through (a shared head, or a language model's next-token
//     distribution); "all" distils the head of every earlier task on the
//     current rows (task-incremental models with one head per task, as in
//     Li & Hoiem).
var lwfDefaults = map[string]string{
	"weight":      "1",
	"temperature": "2",
	"heads":       "own",
}

// lwf is learning without forgetting (Li & Hoiem 2017). At the start of
// every task after the first it keeps a copy of the parameters (the
// teacher: the model as the previous task left it). Each training step
// adds weight × L_old, the cross-entropy of the teacher's softened
// distribution softmax(z_old/T) against the model's softmax(z/T) on the
// step's own rows, averaged over their targets, with its gradient
// (softmax(z/T) − softmax(z_old/T))/T per logit. For a language model the
// distilled outputs are the next-token distributions at every target
// position (the full vocabulary); for classification, the row's head
// (heads=own) or every earlier task's head (heads=all). No old data is
// stored.
//
// Memory: two parameter-sized buffers (the teacher, and the extra
// gradient) and one more while swapping the teacher in. Compute per step
// beside naive's forward and backward: per distilled head one teacher
// forward pass and one forward and backward pass of the distillation loss.
type lwf struct {
	Base
	weight, temp float64
	all          bool

	task    int
	teacher []float32
	saved   []float32
	ex      extra
}

func init() {
	Register(Info{
		Name:     "lwf",
		Summary:  "learning without forgetting: distil the previous model's softened outputs on the current rows",
		Defaults: lwfDefaults,
		Label:    "LwF",
		Rank:     14,
		Baseline: "naive",
		Cost:     "memory +3P (teacher, extra gradient, swap); compute per distilled head +1 forward (teacher) +1 forward+backward a step",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, lwfDefaults)
			m := &lwf{
				weight: s.Float("weight", 0, math.Inf(1)),
				temp:   s.Float("temperature", 1e-3, 1e3),
				all:    s.Choice("heads", "own", "all") == "all",
			}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}

// BeginTask snapshots the teacher (from the second task on).
func (l *lwf) BeginTask(env *Env, t TaskData) error {
	l.task = t.Index()
	if t.Index() > 0 {
		l.teacher = append(l.teacher[:0], env.Model.Params().Data...)
	}
	return nil
}

// TrainBatch computes the distillation gradient on b's rows for
// AddPenalty; b itself is trained on unchanged.
func (l *lwf) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	p := env.Model.Params().Data
	l.ex.reset(len(p))
	if l.teacher == nil || l.weight == 0 {
		return b, nil
	}
	ot, err := outputTrainer(env, "lwf")
	if err != nil {
		return nil, err
	}
	var views []*models.Batch
	if l.all && b.Objective == models.Classify {
		for k := 0; k < l.task; k++ {
			c := *b
			c.Task = make([]int, b.B)
			for i := range c.Task {
				c.Task[i] = k
			}
			c.Outputs = 0
			views = append(views, &c)
		}
	} else {
		views = append(views, withTask(b, l.task))
	}
	for _, v := range views {
		var soft []float64 // the teacher's log-probabilities, target by target
		l.saved = append(l.saved[:0], p...)
		copy(p, l.teacher)
		_, err := ot.ForwardOutputs(v, models.ForwardOptions{}, false, func(out *models.Outputs, _ []float32) float64 {
			soft = make([]float64, len(out.Logits))
			for i := range out.Row {
				c := out.Classes[i]
				logSoftmax(soft[i*out.Width:i*out.Width+c], out.Logits[i*out.Width:i*out.Width+c], l.temp)
			}
			return 0
		})
		copy(p, l.saved)
		if err != nil {
			return nil, fmt.Errorf("lwf: teacher outputs: %w", err)
		}
		loss, err := ot.ForwardOutputs(v, models.ForwardOptions{}, true, distil(soft, l.temp))
		if err != nil {
			return nil, fmt.Errorf("lwf: distillation: %w", err)
		}
		l.ex.add(env.Model.Grads().Data, l.weight, loss)
	}
	return b, nil
}

// AddPenalty adds the distillation gradient of this step's rows.
func (l *lwf) AddPenalty(env *Env) float64 { return l.ex.apply(env.Model.Grads().Data) }

// distil is the OutputLoss −Σ_k p_k·log softmax(z/T)_k averaged over the
// targets, p = exp(logp) the teacher's softened distribution, with
// gradient (softmax(z/T) − p)/(T·M).
func distil(logp []float64, temp float64) models.OutputLoss {
	return func(out *models.Outputs, d []float32) float64 {
		M := len(out.Row)
		var loss float64
		q := make([]float64, out.Width)
		for i := 0; i < M; i++ {
			c := out.Classes[i]
			lo := i * out.Width
			logSoftmax(q[:c], out.Logits[lo:lo+c], temp)
			for k := 0; k < c; k++ {
				pk := math.Exp(logp[lo+k])
				loss -= pk * q[k]
				if d != nil {
					d[lo+k] = float32((math.Exp(q[k]) - pk) / (temp * float64(M)))
				}
			}
		}
		return loss / float64(M)
	}
}

// MarshalState saves the current task, the teacher's parameters (nil
// during the first task) and a distillation gradient not yet applied.
func (l *lwf) MarshalState() ([]byte, error) {
	w := newStateWriter("lwf/1")
	w.Int(l.task)
	w.Float32s(l.teacher)
	w.extra(&l.ex)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved; env.Model gives the
// number of parameters.
func (l *lwf) UnmarshalState(env *Env, data []byte) error {
	n := env.Model.Params().Len()
	r := newStateReader(data, "lwf/1")
	task := r.Int()
	teacher := r.vec(n, "teacher")
	ex := r.extra(n)
	if r.err == nil && task < 0 {
		r.err = fmt.Errorf("saved task %d", task)
	}
	if err := r.Err(); err != nil {
		return stateErr("lwf", err)
	}
	l.task, l.teacher, l.ex = task, teacher, ex
	return nil
}
