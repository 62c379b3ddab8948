package modeltest

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// Broken models: an MLP with one deliberate bug each.
type (
	// scaledGrad's backward pass gets one tensor's gradient 1.5× too big.
	scaledGrad struct{ *models.MLP }
	// droppedGrad's backward pass forgets one tensor.
	droppedGrad struct{ *models.MLP }
	// swappedLosses returns its row losses in reverse order.
	swappedLosses struct{ *models.MLP }
	// blindEvaluate scores nothing and refuses nothing.
	blindEvaluate struct{ *models.MLP }
)

func (m scaledGrad) ForwardBackward(b *models.Batch, o models.ForwardOptions) (float64, error) {
	l, err := m.MLP.ForwardBackward(b, o)
	for i := range m.Grads().Get("hidden.0.bias") {
		m.Grads().Get("hidden.0.bias")[i] *= 1.5
	}
	return l, err
}

func (m droppedGrad) ForwardBackward(b *models.Batch, o models.ForwardOptions) (float64, error) {
	l, err := m.MLP.ForwardBackward(b, o)
	clear(m.Grads().Get("head.1.weight"))
	return l, err
}

func (m swappedLosses) Losses(b *models.Batch, o models.ForwardOptions) ([]float64, error) {
	l, err := m.MLP.Losses(b, o)
	slices.Reverse(l)
	return l, err
}

func (blindEvaluate) Evaluate(*models.Batch) (models.Score, error) { return models.Score{}, nil }

// TestCatches runs the suite on a correct MLP, which must pass, and the
// check each broken one breaks, which must fail with the message shown.
func TestCatches(t *testing.T) {
	cfg := models.MLPConfig{In: 5, Hidden: []int{4}, Classes: []int{3, 2}}
	b := FeatureBatch(rand.New(rand.NewPCG(3, 3)), 4, cfg.In, cfg.Classes)
	subject := func(wrap func(*models.MLP) models.Model) Subject {
		return Subject{TaskHeads: true, Batches: []*models.Batch{b}, New: func(seed uint64) (models.Model, error) {
			m, err := models.NewMLP(cfg, seed)
			if err != nil {
				return nil, err
			}
			return wrap(m), nil
		}}
	}
	Run(t, subject(func(m *models.MLP) models.Model { return m }))
	for _, c := range []struct {
		name  string
		wrap  func(*models.MLP) models.Model
		check func(Subject, *models.Batch) error
		want  string
	}{
		{"scaled gradient", func(m *models.MLP) models.Model { return scaledGrad{m} }, checkGradient, "hidden.0.bias["},
		{"dropped gradient", func(m *models.MLP) models.Model { return droppedGrad{m} }, checkGradient, "head.1.weight["},
		{"swapped losses", func(m *models.MLP) models.Model { return swappedLosses{m} }, checkLosses, "but Σ w·n·Losses / Σ n"},
		{"blind evaluate", func(m *models.MLP) models.Model { return blindEvaluate{m} }, checkEvaluate, "the batch has 3 targets"},
		{"blind evaluate", func(m *models.MLP) models.Model { return blindEvaluate{m} }, checkBad, "Evaluate accepted a batch with one feature too few"},
	} {
		err := c.check(subject(c.wrap), b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
