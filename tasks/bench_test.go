package tasks

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/models"
)

// benchFile writes a task whose train split holds 2M tokens (10,000 rows
// of 1 to 399 ids) and small validation and test splits.
func benchFile(b *testing.B, dir, tok string, vocab int) {
	if err := os.MkdirAll(filepath.Join(dir, tok), 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		split string
		rows  int
	}{{datasets.Train, 10000}, {datasets.Validation, 200}, {datasets.Test, 200}} {
		w, err := datasets.Create(datasets.FilePath(dir, tok, "bench", c.split),
			datasets.Meta{Domain: "bench", Split: c.split, Tokenizer: tok, VocabSize: vocab, Extra: map[string]string{"sep_id": "102"}})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < c.rows; i++ {
			ids := make([]int32, 1+rng.IntN(399))
			for k := range ids {
				ids[k] = int32(1000 + rng.IntN(vocab-1000))
			}
			if err := w.Write(datasets.Row{Text: "row", InputIDs: ids, Label: -1}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrain measures batch production (32 rows of 128 tokens) from a
// 2M-token training file, in tokens per second.
func BenchmarkTrain(b *testing.B) {
	dir := b.TempDir()
	benchFile(b, dir, "gpt2-2k", 2048)
	benchFile(b, dir, "bert-uncased", 30522)
	for _, c := range []struct {
		name, tok string
		obj       models.Objective
		cache     int64
	}{
		{"lm", "gpt2-2k", models.NextToken, CacheTokens},
		{"mlm", "bert-uncased", models.Masked, CacheTokens},
		// A cache of 1/8 of the file: shuffled in groups, each record
		// batch decoded once per epoch.
		{"lm-grouped", "gpt2-2k", models.NextToken, 1 << 18},
	} {
		b.Run(c.name, func(b *testing.B) {
			task, err := Open(Spec{Dir: dir, Domain: "bench", Tokenizer: c.tok, Objective: c.obj, Ctx: 128}, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer task.Close()
			task.train.setLimit(c.cache)
			st := task.Train(rand.New(rand.NewPCG(2, 2)), 32)
			b.ResetTimer()
			var tokens int
			for i := 0; i < b.N; i++ {
				batch, err := st.Next()
				if err != nil {
					b.Fatal(err)
				}
				tokens += batch.B * batch.T
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
