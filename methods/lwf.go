package methods

import (
	"fmt"
	"math"
	"strings"

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
//   - distil_outputs: "all" distils every output of the distilled head
//     (the first Batch.Outputs of it when the step's batch sets Outputs);
//     "old" only the outputs that earlier tasks trained: the first k,
//     with k the largest Batch.Outputs of an earlier task's training
//     batches. The second is Buzzega et al.'s class-incremental LwF
//     (models/lwf.py of aimagelab/mammoth), whose batches mask the loss to
//     the classes seen so far; it needs training batches with Outputs.
//   - warmup: "true" trains the head alone before every task after the
//     first, as Buzzega et al.'s LwF does: StepsPerTask steps of plain SGD
//     at the run's learning rate on BatchSize rows drawn with Sample each,
//     on the cross-entropy of the task's own outputs (those between the
//     earlier tasks' Outputs and the task's), only the tensors named
//     "head.*" updated. Needs batches with Outputs, like distil_outputs=old.
//   - l2: adds l2·Σθ² over every parameter to every step's loss (gradient
//     2·l2·θ); Buzzega et al.'s wd_reg. 0 = none.
var lwfDefaults = map[string]string{
	"weight":         "1",
	"temperature":    "2",
	"heads":          "own",
	"distil_outputs": "all",
	"warmup":         "false",
	"l2":             "0",
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
	oldOnly      bool // distil_outputs=old
	warmup       bool
	l2           float64

	task    int
	teacher []float32
	saved   []float32
	ex      extra
	// outputs is the largest Batch.Outputs of the current task's training
	// batches, old that of the earlier tasks' (distil_outputs=old, warmup).
	outputs, old int
}

func init() {
	Register(Info{
		Name:           "lwf",
		Summary:        "learning without forgetting: distil the previous model's softened outputs on the current rows",
		Defaults:       lwfDefaults,
		Label:          "LwF",
		Rank:           14,
		PlainFirstWake: AlwaysPlain,
		Baseline:       "naive",
		Cost:           "memory +3P (teacher, extra gradient, swap); compute per distilled head +1 forward (teacher) +1 forward+backward a step",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, lwfDefaults)
			m := &lwf{
				weight:  s.Float("weight", 0, math.Inf(1)),
				temp:    s.Float("temperature", 1e-3, 1e3),
				all:     s.Choice("heads", "own", "all") == "all",
				oldOnly: s.Choice("distil_outputs", "all", "old") == "old",
				warmup:  s.Bool("warmup"),
				l2:      s.Float("l2", 0, math.Inf(1)),
			}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}

// BeginTask snapshots the teacher (from the second task on), and warms
// the head up (warmup).
func (l *lwf) BeginTask(env *Env, t TaskData) error {
	l.task = t.Index()
	l.old = max(l.old, l.outputs)
	l.outputs = 0
	if t.Index() > 0 {
		l.teacher = append(l.teacher[:0], env.Model.Params().Data...)
		if l.warmup {
			return l.warmHead(env, t)
		}
	}
	return nil
}

// warmHead trains the head tensors alone on the task's own outputs:
// StepsPerTask steps of plain SGD at the run's learning rate, each on
// BatchSize rows of Sample.
func (l *lwf) warmHead(env *Env, t TaskData) error {
	ot, err := outputTrainer(env, "lwf")
	if err != nil {
		return err
	}
	var head [][]float32
	for _, tn := range env.Model.Params().Tensors {
		if strings.HasPrefix(tn.Name, "head.") {
			head = append(head, env.Model.Params().Slice(tn))
		}
	}
	if len(head) == 0 {
		return fmt.Errorf("lwf: warmup: model %s has no tensor named head.*", env.Model.Name())
	}
	lr := float32(env.Cfg.LR)
	for s := 0; s < env.Cfg.StepsPerTask; s++ {
		b, err := t.Sample(env.RNG, max(env.Cfg.BatchSize, 1))
		if err != nil {
			return fmt.Errorf("lwf: warmup: %w", err)
		}
		lo, hi := l.old, b.Outputs
		if hi <= lo {
			return fmt.Errorf("lwf: warmup needs training batches whose Outputs grow with the tasks (task %d: outputs %d, earlier tasks' %d)", t.Index(), hi, lo)
		}
		if _, err := ot.ForwardOutputs(withTask(b, t.Index()), models.ForwardOptions{}, true, rangeCE(b, lo, hi)); err != nil {
			return fmt.Errorf("lwf: warmup: %w", err)
		}
		g := env.Model.Grads()
		for _, tn := range env.Model.Params().Tensors {
			if strings.HasPrefix(tn.Name, "head.") {
				p, gs := env.Model.Params().Slice(tn), g.Slice(tn)
				for i := range p {
					p[i] -= lr * gs[i]
				}
			}
		}
	}
	return nil
}

// rangeCE is the OutputLoss of the cross-entropy over the logits lo..hi−1
// alone, with b's labels shifted by −lo (every label in [lo, hi)),
// averaged over the rows.
func rangeCE(b *models.Batch, lo, hi int) models.OutputLoss {
	return func(out *models.Outputs, d []float32) float64 {
		M := len(out.Row)
		q := make([]float64, hi-lo)
		var loss float64
		for i, r := range out.Row {
			z := out.Logits[i*out.Width+lo : i*out.Width+hi]
			logSoftmax(q, z, 1)
			y := int(b.Targets[r]) - lo
			loss -= q[y]
			if d != nil {
				for k := range q {
					v := math.Exp(q[k])
					if k == y {
						v--
					}
					d[i*out.Width+lo+k] = float32(v / float64(M))
				}
			}
		}
		return loss / float64(M)
	}
}

// TrainBatch computes the distillation gradient on b's rows for
// AddPenalty; b itself is trained on unchanged.
func (l *lwf) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	p := env.Model.Params().Data
	l.ex.reset(len(p))
	l.outputs = max(l.outputs, b.Outputs)
	if l.teacher == nil || l.weight == 0 {
		return b, nil
	}
	if l.oldOnly && l.old == 0 {
		return nil, fmt.Errorf("lwf: distil_outputs=old needs training batches with Outputs (none in the tasks before task %d)", l.task)
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
	if l.oldOnly {
		// The first l.old outputs alone; the labels (of this task's
		// classes, beyond them) do not enter the distillation.
		for i, v := range views {
			c := *v
			c.Outputs = l.old
			c.Targets = make([]int32, len(v.Targets))
			for k, y := range v.Targets {
				if y < 0 {
					c.Targets[k] = y
				}
			}
			views[i] = &c
		}
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

// AddPenalty adds the distillation gradient of this step's rows, and
// the L2 penalty's (l2 > 0).
func (l *lwf) AddPenalty(env *Env) float64 {
	g := env.Model.Grads().Data
	pen := l.ex.apply(g)
	if l.l2 > 0 {
		c := float32(2 * l.l2)
		var ss float64
		for i, v := range env.Model.Params().Data {
			g[i] += c * v
			ss += float64(v) * float64(v)
		}
		pen += l.l2 * ss
	}
	return pen
}

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
// during the first task), a distillation gradient not yet applied, and
// the largest Outputs of the current and the earlier tasks' batches.
func (l *lwf) MarshalState() ([]byte, error) {
	w := newStateWriter("lwf/2")
	w.Int(l.task)
	w.Float32s(l.teacher)
	w.extra(&l.ex)
	w.Int(l.outputs)
	w.Int(l.old)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved (or the "lwf/1" state
// of before the Outputs were kept, which had none); env.Model gives the
// number of parameters.
func (l *lwf) UnmarshalState(env *Env, data []byte) error {
	n := env.Model.Params().Len()
	tag := "lwf/2"
	if newStateReader(data, "lwf/1").err == nil {
		tag = "lwf/1"
	}
	r := newStateReader(data, tag)
	task := r.Int()
	teacher := r.vec(n, "teacher")
	ex := r.extra(n)
	var outputs, old int
	if tag == "lwf/2" {
		outputs, old = r.Int(), r.Int()
	}
	if r.err == nil && (task < 0 || outputs < 0 || old < 0) {
		r.err = fmt.Errorf("saved task %d, outputs %d and %d", task, outputs, old)
	}
	if err := r.Err(); err != nil {
		return stateErr("lwf", err)
	}
	l.task, l.teacher, l.ex, l.outputs, l.old = task, teacher, ex, outputs, old
	return nil
}
