package methods

import (
	"math/rand/v2"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// BenchmarkEWCPenalty times AddPenalty with 5 per-task anchors on the
// 478,410-parameter 784-400-400-10 MLP (a per-step cost of EWC).
func BenchmarkEWCPenalty(b *testing.B) {
	model, _ := models.NewMLP(models.MLPConfig{In: 784, Hidden: []int{400, 400}, Classes: []int{10}}, 1)
	e := &ewc{lambda: 100}
	for k := 0; k < 5; k++ {
		f := model.Params().Like()
		for i := range f.Data {
			f.Data[i] = float32(i%5) * 0.01
		}
		e.anchors = append(e.anchors, ewcAnchor{fisher: f, theta: model.Params().Clone()})
	}
	env := &Env{Model: model}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.AddPenalty(env)
	}
	b.ReportMetric(float64(b.N)*5*float64(model.Params().Len())/b.Elapsed().Seconds()/1e6, "Mparam-anchors/s")
}

// BenchmarkSHN times elementwise SHN over the same MLP's matrices.
func BenchmarkSHN(b *testing.B) {
	model, _ := models.NewMLP(models.MLPConfig{In: 784, Hidden: []int{400, 400}, Classes: []int{10}}, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range model.Params().Data {
		model.Params().Data[i] = float32(rng.NormFloat64() * 0.05)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		SHN(model.Params(), 1, SHNElementwise)
	}
	b.ReportMetric(float64(b.N)*float64(model.Params().Len())/b.Elapsed().Seconds()/1e6, "Mparams/s")
}
