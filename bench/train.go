package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
	"github.com/sleepbench/sleepbench/tasks"
)

// Optimizer updates parameters from their gradients at a learning rate.
// models.AdamW implements it.
type Optimizer interface {
	Step(p, g *models.Params, lr float64)
}

// Task is what the harness needs of a task: the methods' view of its data
// plus the training stream, the fixed test batches and the number of
// classes of its label (0 for language modelling). Open adapts a
// *tasks.Task to it; tests use fakes.
type Task interface {
	methods.TaskData
	// Classes is the number of label classes (0 unless classifying).
	Classes() int
	// Train returns an endless stream of shuffled training batches.
	Train(rng *rand.Rand, batchSize int) tasks.Stream
	// Test returns the fixed evaluation batches of the test split.
	Test(batchSize int) ([]*models.Batch, error)
	// Close releases the task's files.
	Close() error
}

// Schedules of the wake learning rate (Settings.Schedule).
const (
	// Cosine warms up linearly over Warmup steps, then decays along a
	// cosine to MinLR at the task's last step; it restarts every task
	// (and every dormancy day), since each is a new period of learning.
	Cosine = "cosine"
	// Constant warms up linearly over Warmup steps, then stays at LR.
	Constant = "constant"
)

// Settings are the wake-training settings of a run.
type Settings struct {
	Batch     int     // rows per training batch
	EvalBatch int     // rows per evaluation batch
	EvalRows  int     // validation rows drawn per task when tuning (test rows are capped by the task spec)
	LR        float64 // peak learning rate
	MinLR     float64 // final learning rate of the cosine schedule
	Warmup    int     // linear warm-up steps at the start of every task
	Schedule  string  // Cosine or Constant
	ClipNorm  float64 // global gradient-norm clip; 0 disables
}

// Rate returns the learning rate at step (0-based) of a period of total
// steps: models.Schedule (linear warm-up, then a cosine from LR towards
// MinLR, which it reaches at step total) for Cosine; the warm-up, then LR,
// for Constant.
func (s Settings) Rate(step, total int) float64 {
	if s.Schedule == Constant {
		if step < s.Warmup {
			return s.LR * float64(step+1) / float64(s.Warmup)
		}
		return s.LR
	}
	return models.Schedule{Warmup: s.Warmup, Total: total, Peak: s.LR, Min: s.MinLR}.LR(step)
}

// Progress is a snapshot of a run's training, reported every step.
type Progress struct {
	Label  string  // "task 2 (email)", "sleep after task 2 (email)", "day 3 (computing)"
	Step   int     // 1-based step within the period
	Steps  int     // steps of the period (0 when unknown, as in sleep)
	Loss   float64 // loss of the last step
	Total  int     // optimiser steps of the run so far, wake and sleep
	Tokens int64   // tokens trained on so far, wake and sleep
}

// Loop trains one model with one method through a sequence of periods
// (tasks, the next day, dormancy days) and evaluates it. It builds the
// methods.Env the method's hooks receive; env.Step shares the wake step's
// code (forward, backward, penalty, clip, optimiser step).
//
// One optimiser (and so one set of AdamW moments) serves the whole run,
// wake and sleep; the learning rate follows Settings.Rate within each
// period.
type Loop struct {
	Name   string // run name, used in errors
	Model  models.Model
	Method methods.Method
	Opt    Optimizer
	Set    Settings
	Seed   uint64
	// Report receives progress after every step; nil for none.
	Report func(Progress)

	// Steps counts optimiser steps (wake and sleep), Tokens the tokens
	// trained on (real tokens when a batch has Lengths, else B·T).
	Steps  int
	Tokens int64
	// Periods has what each period did, in order (see results.PeriodStats).
	Periods []results.PeriodStats

	// Checkpoint, when set, is called at every task boundary (after a
	// period's End and evaluation) and, when Every > 0, after every
	// Every-th wake step of a period that has steps left: the runner saves
	// the loop's state there (see checkpoint.go). An error stops the run.
	Checkpoint func() error
	Every      int

	env   *methods.Env
	seen  []methods.TaskData
	evals map[Task][]*models.Batch
	// validation switches evaluation from the test split to fixed draws
	// from the validation split (tuning).
	validation bool
	label      string // the period in progress, for errors of sleep steps
	extra      int    // env.Step calls in the current period's hooks
	cur        *results.PeriodStats
	prev       []float32 // parameters before the step, for ‖Δθ‖

	src  *rand.PCG // env.RNG's source, saved in checkpoints
	prog progress  // where the protocol is, saved in checkpoints
	at   int       // wake steps done in the period in progress
	// resumed is set by a restored checkpoint: the protocol continues
	// from prog, and the next Wake from resumeAt steps into its period
	// with resumeCur as the period's figures so far.
	resumed   bool
	resumeAt  int
	resumeCur *results.PeriodStats
}

// progress is where a protocol is in a run: the periods it has finished
// (End and the evaluation after it done) and what it has measured so far.
// The sequence protocol keeps its rows of R and Loss here; dormancy keeps
// one-element rows and the day of each.
type progress struct {
	Done int         `json:"done"`
	R    [][]float64 `json:"R,omitempty"`
	Loss [][]float64 `json:"loss,omitempty"`
	Days []int       `json:"days,omitempty"`
}

// boundary records that a period is finished and calls Checkpoint.
func (l *Loop) boundary() error {
	l.prog.Done++
	if l.Checkpoint == nil {
		return nil
	}
	return l.Checkpoint()
}

// see adds t to the tasks seen (env.Tasks) if it is new.
func (l *Loop) see(t Task) {
	for _, s := range l.seen {
		if s == t {
			return
		}
	}
	l.seen = append(l.seen, t)
	l.env.Tasks = l.seen
}

// Generator streams derived from a run's seed (the PCG stream argument).
const (
	streamMethod = 0x6d657468 // the method's RNG (env.RNG)
	streamData   = 0x64617461 // + period number: each period's training stream
	streamValid  = 0x76616c69 // + task index: the fixed validation draws
)

// NewLoop returns a loop ready to train m with method meth.
func NewLoop(name string, m models.Model, meth methods.Method, opt Optimizer, set Settings, seed uint64) *Loop {
	l := &Loop{Name: name, Model: m, Method: meth, Opt: opt, Set: set, Seed: seed, evals: map[Task][]*models.Batch{}}
	l.src = rand.NewPCG(seed, streamMethod)
	l.env = &methods.Env{
		Model: m,
		Cfg:   methods.TrainConfig{BatchSize: set.Batch, LR: set.LR},
		RNG:   rand.New(l.src),
		Logf:  func(string, ...any) {},
	}
	l.env.Step = l.extraStep
	return l
}

// Env is the environment the method's hooks receive.
func (l *Loop) Env() *methods.Env { return l.env }

// UseValidation makes Evaluate score fixed draws from each task's
// validation split instead of its test split (for tuning).
func (l *Loop) UseValidation() { l.validation = true }

// errNonFinite marks a NaN or infinite loss or penalty.
var errNonFinite = errors.New("non-finite loss")

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func describe(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	return fmt.Sprintf("infinite (%v)", x)
}

// step is one optimiser step on b: forward and backward, the method's
// penalty, clipping, and the update at lr. It returns the loss without
// the penalty; a non-finite loss or penalty returns errNonFinite before
// any parameter changes.
func (l *Loop) step(b *models.Batch, opt models.ForwardOptions, lr float64, wake bool) (float64, error) {
	loss, err := l.Model.ForwardBackward(b, opt)
	if err != nil {
		return loss, err
	}
	if !finite(loss) {
		return loss, fmt.Errorf("%s loss: %w", describe(loss), errNonFinite)
	}
	pen := l.Method.AddPenalty(l.env)
	if !finite(pen) {
		return loss, fmt.Errorf("%s penalty: %w", describe(pen), errNonFinite)
	}
	if l.Set.ClipNorm > 0 {
		models.ClipGradNorm(l.Model.Grads(), l.Set.ClipNorm)
	}
	p := l.Model.Params().Data
	l.prev = append(l.prev[:0], p...)
	l.Opt.Step(l.Model.Params(), l.Model.Grads(), lr)
	var ss float64
	for i, v := range p {
		d := float64(v) - float64(l.prev[i])
		ss += d * d
	}
	if st := l.cur; st != nil {
		if wake {
			st.WakeSteps++
			st.WakeLoss += loss
			st.Penalty += pen
			st.WakeUpdate += math.Sqrt(ss)
		} else {
			st.ExtraSteps++
			st.ExtraUpdate += math.Sqrt(ss)
		}
	}
	l.Steps++
	l.Tokens += batchTokens(b)
	return loss, nil
}

// extraStep is env.Step: a step the method takes in its hooks (sleep).
func (l *Loop) extraStep(b *models.Batch, opt models.ForwardOptions, lr float64) (float64, error) {
	l.extra++
	loss, err := l.step(b, opt, lr, false)
	if err != nil {
		return loss, fmt.Errorf("%s: step %d of the method's extra training after %s: %w", l.Name, l.extra, l.label, err)
	}
	if l.Report != nil {
		l.Report(Progress{Label: "sleep after " + l.label, Step: l.extra, Loss: loss, Total: l.Steps, Tokens: l.Tokens})
	}
	return loss, nil
}

// batchTokens counts the real tokens (or feature rows) of b.
func batchTokens(b *models.Batch) int64 {
	if b.Lengths == nil {
		return int64(b.B) * int64(b.T)
	}
	var n int64
	for _, x := range b.Lengths {
		n += int64(x)
	}
	return n
}

// Period is one stretch of wake training: a task of the sequence, the
// next day, or a dormancy day.
type Period struct {
	Task  Task
	Steps int
	// Label names the period in errors and progress, e.g. "task 2 (email)".
	Label string
	// Stream numbers the period's training stream, so that each period of
	// a run (and the same period across methods) draws its own,
	// reproducible data order.
	Stream uint64
	// NoWarmup starts the period at the full learning rate: a dormancy
	// day continues the training of the day before (the optimiser's
	// moments are warm), so it has no warm-up of its own.
	NoWarmup bool
}

// Train runs one period: Wake, then End.
func (l *Loop) Train(p Period) error {
	if err := l.Wake(p); err != nil {
		return err
	}
	return l.End(p)
}

// Wake runs the first part of a period: the method's BeginTask and Steps
// wake steps. A non-finite loss stops the run with an error naming the
// run, step and period. End must follow.
//
// After a checkpoint taken inside the period has been restored, Wake
// continues it: BeginTask has run (its effects are in the restored
// method), and the training stream, rebuilt from its seed, skips the
// batches of the steps already taken.
func (l *Loop) Wake(p Period) error {
	l.see(p.Task)
	l.env.Cfg.StepsPerTask = p.Steps
	l.label = p.Label
	l.extra = 0
	l.cur = &results.PeriodStats{Label: p.Label}
	set := l.Set
	if p.NoWarmup {
		set.Warmup = 0
	}
	first := 0
	if l.resumeAt > 0 {
		first, l.cur = l.resumeAt, l.resumeCur
		l.resumeAt, l.resumeCur = 0, nil
	} else if err := l.Method.BeginTask(l.env, p.Task); err != nil {
		return fmt.Errorf("%s: BeginTask of %s: %w", l.Name, p.Label, err)
	}
	if first > p.Steps {
		return fmt.Errorf("%s: the checkpoint is %d steps into %s, which has %d", l.Name, first, p.Label, p.Steps)
	}
	stream := p.Task.Train(rand.New(rand.NewPCG(l.Seed, streamData+p.Stream)), l.Set.Batch)
	for s := 0; s < first; s++ {
		if _, err := stream.Next(); err != nil {
			return fmt.Errorf("%s: batch %d of %s (skipped on resuming): %w", l.Name, s+1, p.Label, err)
		}
	}
	l.at = first
	for s := first; s < p.Steps; s++ {
		b, err := stream.Next()
		if err != nil {
			return fmt.Errorf("%s: batch %d of %s: %w", l.Name, s+1, p.Label, err)
		}
		if b, err = l.Method.TrainBatch(l.env, b); err != nil {
			return fmt.Errorf("%s: TrainBatch at step %d of %s: %w", l.Name, s+1, p.Label, err)
		}
		loss, err := l.step(b, models.ForwardOptions{}, set.Rate(s, p.Steps), true)
		if err != nil {
			if errors.Is(err, errNonFinite) && !finite(loss) {
				return fmt.Errorf("%s: %s loss at step %d of %s", l.Name, describe(loss), s+1, p.Label)
			}
			return fmt.Errorf("%s: step %d of %s: %w", l.Name, s+1, p.Label, err)
		}
		if l.Report != nil {
			l.Report(Progress{Label: p.Label, Step: s + 1, Steps: p.Steps, Loss: loss, Total: l.Steps, Tokens: l.Tokens})
		}
		l.at = s + 1
		if l.Checkpoint != nil && l.Every > 0 && l.at%l.Every == 0 && l.at < p.Steps {
			if err := l.Checkpoint(); err != nil {
				return err
			}
		}
	}
	return nil
}

// End closes the period Wake began: the method's EndTask (where a method
// may sleep through env.Step), then the period's figures go to Periods.
func (l *Loop) End(p Period) error {
	if err := l.Method.EndTask(l.env, p.Task); err != nil {
		return fmt.Errorf("%s: EndTask of %s: %w", l.Name, p.Label, err)
	}
	st := l.cur
	l.cur = nil
	l.at = 0
	if st == nil {
		return fmt.Errorf("%s: End of %s without Wake", l.Name, p.Label)
	}
	if st.WakeSteps > 0 {
		n := float64(st.WakeSteps)
		st.WakeLoss /= n
		st.Penalty /= n
		st.WakeUpdate /= n
	}
	if st.ExtraSteps > 0 {
		st.ExtraUpdate /= float64(st.ExtraSteps)
	}
	if r, ok := l.Method.(methods.Reporter); ok {
		st.Method = r.Report()
	}
	l.Periods = append(l.Periods, *st)
	return nil
}

// batches returns the fixed evaluation batches of t, drawn once.
func (l *Loop) batches(t Task) ([]*models.Batch, error) {
	if bs, ok := l.evals[t]; ok {
		return bs, nil
	}
	var bs []*models.Batch
	if l.validation {
		rng := rand.New(rand.NewPCG(0, streamValid+uint64(t.Index())))
		rows := l.Set.EvalRows
		if rows <= 0 {
			rows = 256
		}
		for rows > 0 {
			n := min(rows, l.Set.EvalBatch)
			b, err := t.Validation(rng, n)
			if err != nil {
				return nil, fmt.Errorf("validation rows of %s: %w", t.Name(), err)
			}
			bs = append(bs, b)
			rows -= n
		}
	} else {
		var err error
		if bs, err = t.Test(l.Set.EvalBatch); err != nil {
			return nil, fmt.Errorf("test rows of %s: %w", t.Name(), err)
		}
	}
	l.evals[t] = bs
	return bs, nil
}

// Evaluate scores the model on every task's fixed held-out batches (the
// test split, or the validation draws after UseValidation): top-1
// accuracy and mean cross-entropy per target.
func (l *Loop) Evaluate(ts []Task) (acc, loss []float64, err error) {
	acc = make([]float64, len(ts))
	loss = make([]float64, len(ts))
	for j, t := range ts {
		bs, err := l.batches(t)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", l.Name, err)
		}
		var s models.Score
		for k, b := range bs {
			sc, err := l.Model.Evaluate(b)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: evaluating batch %d of %s: %w", l.Name, k, t.Name(), err)
			}
			s.Correct += sc.Correct
			s.Total += sc.Total
			s.LossSum += sc.LossSum
		}
		if s.Total == 0 {
			return nil, nil, fmt.Errorf("%s: no evaluation targets in %s", l.Name, t.Name())
		}
		acc[j] = float64(s.Correct) / float64(s.Total)
		loss[j] = s.LossSum / float64(s.Total)
	}
	return acc, loss, nil
}
