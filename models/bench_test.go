package models

import (
	"math/rand/v2"
	"testing"
)

// benchBatch is a random batch of the config's objective: next-token for
// decoders, 15% masked positions for encoders.
func benchBatch(cfg Config, B, T int, seed uint64) *Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	b := &Batch{B: B, T: T, Inputs: make([]int32, B*T), Targets: make([]int32, B*T)}
	for i := range b.Inputs {
		b.Inputs[i] = int32(r.IntN(cfg.Vocab))
		b.Targets[i] = int32(r.IntN(cfg.Vocab))
	}
	b.Objective = NextToken
	if cfg.Arch == Encoder {
		b.Objective = Masked
		for i := range b.Targets {
			if r.Float64() >= 0.15 {
				b.Targets[i] = -1
			}
		}
	}
	return b
}

// stepFLOPs is the training cost of batch b: every token through the
// blocks, and the LM or MLM head at each target.
func stepFLOPs(cfg Config, b *Batch) float64 {
	targets := 0
	for _, t := range b.Targets {
		if t >= 0 {
			targets++
		}
	}
	return float64(b.B*b.T)*cfg.bodyFLOPs(b.T) + float64(targets)*cfg.headFLOPs()
}

// BenchmarkTrainStep times one training step (ForwardBackward and an
// AdamW update) and reports tokens/s and GFLOP/s (FLOPs as counted by
// FLOPsPerToken, at the batch's T and its number of targets).
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		name string
		B, T int
	}{{"bert-mini", 8, 128}, {"gpt2-mini", 8, 128}, {"gpt2", 1, 128}} {
		b.Run(c.name, func(b *testing.B) {
			cfg, err := LookupConfig(c.name)
			if err != nil {
				b.Fatal(err)
			}
			m, err := NewTransformer(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			o := NewAdamW(m.Params(), DefaultAdamW)
			batch := benchBatch(cfg, c.B, c.T, 1)
			step := func() {
				if _, err := m.ForwardBackward(batch, ForwardOptions{}); err != nil {
					b.Fatal(err)
				}
				o.Step(m.Params(), m.Grads(), 1e-4)
			}
			step() // grow the buffers
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(c.B*c.T)/sec, "tokens/s")
			b.ReportMetric(stepFLOPs(cfg, batch)/sec/1e9, "GFLOP/s")
		})
	}
}
