// Package modeltest is a conformance suite for implementations of
// models.Model, in the style of gonum's blas/testblas: the contract the
// training loop and the methods rely on lives here, and a model proves it
// keeps it by calling Run from a test of its own.
//
//	func TestConformance(t *testing.T) {
//		modeltest.Run(t, modeltest.Subject{
//			New:     func(seed uint64) (models.Model, error) { return models.NewMLP(cfg, seed) },
//			Batches: []*models.Batch{modeltest.FeatureBatch(rng, 4, cfg.In, cfg.Classes)},
//		})
//	}
//
// The checks run in float32 with loose tolerances: they are meant to
// catch a wrong backward pass, a loss that disagrees with itself or a
// batch the model should have refused, not rounding. Keep the model and
// the batches tiny; a whole Run then takes milliseconds.
package modeltest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/models"
)

// Subject is a model implementation under test.
type Subject struct {
	// New builds a model whose initial parameters are drawn from seed.
	New func(seed uint64) (models.Model, error)
	// Batches are valid batches of every kind the model takes: each
	// objective it supports, with and without padding, row weights, rows
	// of several tasks. Every batch needs at least one target.
	Batches []*models.Batch
	// TaskHeads says rows pick their classification head by Batch.Task,
	// so that a row whose Task names no head must be refused (false for a
	// model with one shared head, which ignores Task).
	TaskHeads bool
}

// Run checks s, in subtests:
//
//   - init: two models built with one seed have bit-identical
//     parameters, a model built with another seed does not, and Grads has
//     Params' layout;
//   - gradient, per batch: ForwardBackward's gradient agrees with central
//     finite differences of its loss on a handful of parameters of every
//     tensor (the largest gradient of the tensor and two drawn at random),
//     on a model whose parameters were perturbed away from their
//     initialisation so that every path carries gradient;
//   - losses, per batch: ForwardBackward is deterministic (same loss,
//     bit-identical gradients), and its loss equals Σ_b w_b·n_b·ℓ_b / Σ_b
//     n_b, with ℓ_b the row losses that Losses returns (row means over n_b
//     targets, unweighted), which leaves Grads alone;
//   - evaluate, per batch: Evaluate is deterministic, counts every target
//     (Total = Σ n_b, 0 ≤ Correct ≤ Total) and sums the same losses
//     (LossSum = Σ n_b·ℓ_b);
//   - batch-unmodified: no call changes the batch it is given;
//   - bad-batches: ForwardBackward, Losses and Evaluate refuse, with an
//     error and without panicking, batches broken from each valid one
//     (see badBatches): token ids outside any vocabulary, labels outside
//     any head, slices one entry short or long, a B or T the data do not
//     hold, an unknown objective, and (with TaskHeads) a task without a
//     head.
func Run(t *testing.T, s Subject) {
	t.Helper()
	if len(s.Batches) == 0 {
		t.Fatal("modeltest: Subject has no Batches")
	}
	t.Run("init", func(t *testing.T) { report(t, checkInit(s)) })
	for i, b := range s.Batches {
		t.Run(fmt.Sprintf("batch%d-%v", i, b.Objective), func(t *testing.T) {
			for _, c := range batchChecks {
				t.Run(c.name, func(t *testing.T) { report(t, c.check(s, b)) })
			}
		})
	}
}

// batchChecks are Run's checks of one batch; each returns what it found
// wrong.
var batchChecks = []struct {
	name  string
	check func(Subject, *models.Batch) error
}{
	{"gradient", checkGradient},
	{"losses", checkLosses},
	{"evaluate", checkEvaluate},
	{"batch-unmodified", checkUnmodified},
	{"bad-batches", checkBad},
}

func report(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

func checkInit(s Subject) error {
	a, err := s.New(1)
	if err != nil {
		return err
	}
	b, err := s.New(1)
	if err != nil {
		return err
	}
	c, err := s.New(2)
	if err != nil {
		return err
	}
	pa, pb, pc := a.Params(), b.Params(), c.Params()
	var errs []error
	if i := firstDiff(pa.Data, pb.Data); i >= 0 {
		errs = append(errs, fmt.Errorf("two models with seed 1 differ at parameter %d (%v, %v)", i, at(pa.Data, i), at(pb.Data, i)))
	}
	if firstDiff(pa.Data, pc.Data) < 0 {
		errs = append(errs, errors.New("models with seeds 1 and 2 have bit-identical parameters: the seed is not used"))
	}
	g := a.Grads()
	if g.Len() != pa.Len() || !slices.Equal(names(g), names(pa)) {
		errs = append(errs, fmt.Errorf("Grads has %d values in tensors %v, Params %d in %v", g.Len(), names(g), pa.Len(), names(pa)))
	}
	return errors.Join(errs...)
}

func names(p *models.Params) []string {
	var ns []string
	for _, t := range p.Tensors {
		ns = append(ns, t.Name)
	}
	return ns
}

// Gradient check settings: the finite-difference step, the absolute and
// relative tolerances (|numeric − analytic| ≤ atol + rtol·max(|numeric|,
// |analytic|)), and the std of the perturbation of the parameters.
const (
	gradStep = 1e-3
	gradAtol = 2e-3
	gradRtol = 5e-2
	perturb  = 0.2
)

// newPerturbed builds a model with seed 1 and moves every parameter by
// perturb·N(0,1), so that gains, biases and zero-initialised tensors
// carry gradient too.
func newPerturbed(s Subject) (models.Model, error) {
	m, err := s.New(1)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(1, 99))
	p := m.Params().Data
	for i := range p {
		p[i] += float32(perturb * r.NormFloat64())
	}
	return m, nil
}

func checkGradient(s Subject, b *models.Batch) error {
	m, err := newPerturbed(s)
	if err != nil {
		return err
	}
	if _, err := m.ForwardBackward(b, models.ForwardOptions{}); err != nil {
		return fmt.Errorf("ForwardBackward: %w", err)
	}
	grad := slices.Clone(m.Grads().Data)
	p := m.Params()
	r := rand.New(rand.NewPCG(2, 99))
	var errs []error
	for _, tn := range p.Tensors {
		g := grad[tn.Offset : tn.Offset+tn.Size()]
		big := 0
		for i, v := range g {
			if math.Abs(float64(v)) > math.Abs(float64(g[big])) {
				big = i
			}
		}
		for _, i := range []int{big, r.IntN(len(g)), r.IntN(len(g))} {
			k := tn.Offset + i
			num, err := centralDiff(m, b, k)
			if err != nil {
				return err
			}
			a := float64(grad[k])
			if d := math.Abs(num - a); d > gradAtol+gradRtol*math.Max(math.Abs(num), math.Abs(a)) {
				errs = append(errs, fmt.Errorf("%s[%d]: gradient %.6g, central difference %.6g", tn.Name, i, a, num))
			}
		}
	}
	return errors.Join(errs...)
}

// centralDiff is (L(θ+h·e_k) − L(θ−h·e_k)) / 2h of ForwardBackward's
// loss L, restoring θ_k.
func centralDiff(m models.Model, b *models.Batch, k int) (float64, error) {
	p := m.Params().Data
	x := p[k]
	defer func() { p[k] = x }()
	var l [2]float64
	for j, sign := range []float32{1, -1} {
		p[k] = x + sign*gradStep
		var err error
		if l[j], err = m.ForwardBackward(b, models.ForwardOptions{}); err != nil {
			return 0, fmt.Errorf("ForwardBackward: %w", err)
		}
	}
	// The step actually taken in float32.
	h := float64(x+gradStep) - float64(x-gradStep)
	return (l[0] - l[1]) / h, nil
}

// targets counts the targets of each row of b, as the models do: entries
// of Targets ≥ 0 (−1 marks an ignored position or row).
func targets(b *models.Batch) []int {
	n := make([]int, b.B)
	per := len(b.Targets) / b.B
	for i, y := range b.Targets {
		if y >= 0 {
			n[i/per]++
		}
	}
	return n
}

func checkLosses(s Subject, b *models.Batch) error {
	m, err := newPerturbed(s)
	if err != nil {
		return err
	}
	loss, err := m.ForwardBackward(b, models.ForwardOptions{})
	if err != nil {
		return fmt.Errorf("ForwardBackward: %w", err)
	}
	grad := slices.Clone(m.Grads().Data)
	loss2, err := m.ForwardBackward(b, models.ForwardOptions{})
	if err != nil {
		return fmt.Errorf("ForwardBackward: %w", err)
	}
	var errs []error
	if loss2 != loss {
		errs = append(errs, fmt.Errorf("ForwardBackward twice on one batch: loss %v, then %v", loss, loss2))
	}
	if i := firstDiff(grad, m.Grads().Data); i >= 0 {
		errs = append(errs, fmt.Errorf("ForwardBackward twice on one batch: gradient %d is %v, then %v", i, grad[i], m.Grads().Data[i]))
	}
	rows, err := m.Losses(b, models.ForwardOptions{})
	if err != nil {
		return fmt.Errorf("Losses: %w", err)
	}
	if len(rows) != b.B {
		return errors.Join(append(errs, fmt.Errorf("Losses returned %d values for %d rows", len(rows), b.B))...)
	}
	if i := firstDiff(grad, m.Grads().Data); i >= 0 {
		errs = append(errs, fmt.Errorf("Losses changed Grads: gradient %d was %v, is %v", i, grad[i], m.Grads().Data[i]))
	}
	n := targets(b)
	var sum, total float64
	for r, l := range rows {
		if n[r] == 0 && l != 0 {
			errs = append(errs, fmt.Errorf("Losses[%d] = %v for a row without targets, want 0", r, l))
		}
		w := 1.0
		if b.Weights != nil {
			w = float64(b.Weights[r])
		}
		sum += w * float64(n[r]) * l
		total += float64(n[r])
	}
	if want := sum / total; !near(loss, want, 1e-5) {
		errs = append(errs, fmt.Errorf("ForwardBackward's loss %.8g, but Σ w·n·Losses / Σ n = %.8g (Losses %v)", loss, want, rows))
	}
	return errors.Join(errs...)
}

func checkEvaluate(s Subject, b *models.Batch) error {
	m, err := newPerturbed(s)
	if err != nil {
		return err
	}
	rows, err := m.Losses(b, models.ForwardOptions{})
	if err != nil {
		return fmt.Errorf("Losses: %w", err)
	}
	sc, err := m.Evaluate(b)
	if err != nil {
		return fmt.Errorf("Evaluate: %w", err)
	}
	sc2, err := m.Evaluate(b)
	if err != nil {
		return fmt.Errorf("Evaluate: %w", err)
	}
	var errs []error
	if sc != sc2 {
		errs = append(errs, fmt.Errorf("Evaluate twice on one batch: %+v, then %+v", sc, sc2))
	}
	n := targets(b)
	var total int
	var sum float64
	for r, l := range rows {
		total += n[r]
		sum += float64(n[r]) * l
	}
	if sc.Total != total || sc.Correct < 0 || sc.Correct > sc.Total {
		errs = append(errs, fmt.Errorf("Evaluate = %+v; the batch has %d targets", sc, total))
	}
	if !near(sc.LossSum, sum, 1e-5) {
		errs = append(errs, fmt.Errorf("Evaluate's LossSum %.8g, but Σ n·Losses = %.8g", sc.LossSum, sum))
	}
	return errors.Join(errs...)
}

func checkUnmodified(s Subject, b *models.Batch) error {
	m, err := newPerturbed(s)
	if err != nil {
		return err
	}
	before := b.Clone()
	c := b.Clone()
	var errs []error
	for _, call := range calls {
		if err := call.run(m, c); err != nil {
			return fmt.Errorf("%s: %w", call.name, err)
		}
		if d := cmp.Diff(before, c); d != "" {
			errs = append(errs, fmt.Errorf("%s changed its batch (-before +after):\n%s", call.name, d))
			c = b.Clone()
		}
	}
	return errors.Join(errs...)
}

// calls are the three ways to run a model on a batch.
var calls = []struct {
	name string
	run  func(models.Model, *models.Batch) error
}{
	{"ForwardBackward", func(m models.Model, b *models.Batch) error {
		_, err := m.ForwardBackward(b, models.ForwardOptions{})
		return err
	}},
	{"Losses", func(m models.Model, b *models.Batch) error {
		_, err := m.Losses(b, models.ForwardOptions{})
		return err
	}},
	{"Evaluate", func(m models.Model, b *models.Batch) error {
		_, err := m.Evaluate(b)
		return err
	}},
}

func checkBad(s Subject, good *models.Batch) error {
	m, err := s.New(1)
	if err != nil {
		return err
	}
	var errs []error
	for _, bad := range badBatches(good, s.TaskHeads) {
		for _, call := range calls {
			if err := safe(call.run, m, bad.b); err == nil {
				errs = append(errs, fmt.Errorf("%s accepted a batch with %s", call.name, bad.what))
			} else if errors.Is(err, errPanic) {
				errs = append(errs, fmt.Errorf("%s, given a batch with %s: %w", call.name, bad.what, err))
			}
		}
	}
	return errors.Join(errs...)
}

var errPanic = errors.New("panicked instead of returning an error")

// safe runs call, turning a panic into an error wrapping errPanic.
func safe(call func(models.Model, *models.Batch) error, m models.Model, b *models.Batch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return call(m, b)
}

// broken is a batch broken on purpose and what is wrong with it.
type broken struct {
	what string
	b    *models.Batch
}

// badBatches breaks copies of good, one thing at a time.
func badBatches(good *models.Batch, taskHeads bool) []broken {
	var out []broken
	add := func(what string, change func(b *models.Batch)) {
		b := good.Clone()
		change(b)
		out = append(out, broken{what, b})
	}
	out = append(out, broken{"nil batch", nil})
	add("B = 0", func(b *models.Batch) { b.B = 0 })
	add("B one more than the data hold", func(b *models.Batch) { b.B++ })
	add("T one more than the data hold", func(b *models.Batch) { b.T++ })
	add("an unknown objective", func(b *models.Batch) { b.Objective = 99 })
	if good.Inputs != nil {
		add("a token id of −1", func(b *models.Batch) { b.Inputs[len(b.Inputs)-1] = -1 })
		add("a token id of 2³¹−1", func(b *models.Batch) { b.Inputs[0] = math.MaxInt32 })
		add("one token id too few", func(b *models.Batch) { b.Inputs = b.Inputs[:len(b.Inputs)-1] })
		add("one token id too many", func(b *models.Batch) { b.Inputs = append(b.Inputs, 0) })
		add("features besides token ids", func(b *models.Batch) { b.Features = make([]float32, b.B*b.T) })
	}
	if good.Features != nil {
		add("one feature too few", func(b *models.Batch) { b.Features = b.Features[:len(b.Features)-1] })
		add("one feature too many", func(b *models.Batch) { b.Features = append(b.Features, 0) })
		add("token ids besides features", func(b *models.Batch) { b.Inputs = make([]int32, b.B*b.T) })
	}
	add("a target of 2³¹−1", func(b *models.Batch) { b.Targets[0] = math.MaxInt32 })
	add("one target too few", func(b *models.Batch) { b.Targets = b.Targets[:len(b.Targets)-1] })
	add("one target too many", func(b *models.Batch) { b.Targets = append(b.Targets, -1) })
	add("one row weight too many", func(b *models.Batch) { b.Weights = append(make([]float32, b.B), 1) })
	if good.B > 1 {
		add("one row weight too few", func(b *models.Batch) { b.Weights = make([]float32, b.B-1) })
	}
	if good.Lengths != nil {
		add("one length too few", func(b *models.Batch) { b.Lengths = b.Lengths[:b.B-1] })
		add("a length of 0", func(b *models.Batch) { b.Lengths[0] = 0 })
		add("a length above T", func(b *models.Batch) { b.Lengths[0] = b.T + 1 })
	}
	if taskHeads && good.Task != nil {
		add("a task of −1", func(b *models.Batch) { b.Task[0] = -1 })
		add("a task of 2³¹−1", func(b *models.Batch) { b.Task[0] = math.MaxInt32 })
		if good.B > 1 {
			add("one task id too few", func(b *models.Batch) { b.Task = b.Task[:b.B-1] })
		}
	}
	return out
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// firstDiff is the index of the first element that differs in its bits,
// or −1.
func firstDiff(a, b []float32) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// at is a[i], or NaN past its end.
func at(a []float32, i int) float32 {
	if i < len(a) {
		return a[i]
	}
	return float32(math.NaN())
}
