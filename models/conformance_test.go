package models_test

import (
	"math/rand/v2"
	"testing"

	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/models/modeltest"
)

// TestConformance runs the model conformance suite over a tiny
// Transformer encoder and decoder and a tiny MLP, with two task heads
// each, on every objective each supports, padded and not.
func TestConformance(t *testing.T) {
	classes := []int{3, 2}
	transformer := func(arch models.Arch) func(uint64) (models.Model, error) {
		cfg := models.Config{Name: "tiny-" + arch.String(), Arch: arch, Layers: 2, DModel: 8, Heads: 2, DFF: 12,
			Ctx: 8, Vocab: 13, Classes: classes, Pooler: true}
		if arch == models.Encoder {
			cfg.TypeVocab = 2
		}
		return func(seed uint64) (models.Model, error) { return models.NewTransformer(cfg, seed) }
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := func(obj models.Objective, padded bool) *models.Batch {
		return modeltest.TokenBatch(rng, obj, 3, 6, 13, classes, padded)
	}
	mlp := models.MLPConfig{In: 6, Hidden: []int{5, 4}, Classes: classes}
	for _, c := range []struct {
		name string
		s    modeltest.Subject
	}{
		{"encoder", modeltest.Subject{New: transformer(models.Encoder), TaskHeads: true, Batches: []*models.Batch{
			tokens(models.Masked, false), tokens(models.Masked, true), tokens(models.Classify, true)}}},
		{"decoder", modeltest.Subject{New: transformer(models.Decoder), TaskHeads: true, Batches: []*models.Batch{
			tokens(models.NextToken, false), tokens(models.NextToken, true), tokens(models.Classify, true)}}},
		{"mlp", modeltest.Subject{New: func(seed uint64) (models.Model, error) { return models.NewMLP(mlp, seed) },
			TaskHeads: true, Batches: []*models.Batch{modeltest.FeatureBatch(rng, 4, mlp.In, classes)}}},
	} {
		t.Run(c.name, func(t *testing.T) { modeltest.Run(t, c.s) })
	}
}
