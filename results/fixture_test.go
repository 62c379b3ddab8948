package results

import "fmt"

// Hand-written run records for the tests: no model or data involved.

var fixtureTasks = []string{"speech", "scripture", "email"}

// fixtureInfo is the table metadata the harness writes for the built-in
// methods of the fixtures (methods.Info of each); other names get none.
var fixtureInfo = map[string]MethodInfo{
	"naive":          {Label: "baseline (naive)", Rank: 0, Role: RoleBaseline},
	"ewc":            {Label: "EWC", Rank: 10, Role: RoleEWC, Baseline: "naive"},
	"replay":         {Rank: 20, Role: RoleReplay, Baseline: "naive"},
	"aisp":           {Label: "AISP", Rank: 30, Role: RoleSleep, Baseline: "naive", Control: "replay-matched"},
	"aisp-noshn":     {Rank: 40, Baseline: "naive", Control: "replay-matched"},
	"replay-matched": {Rank: 50, Baseline: "naive"},
	"joint":          {Rank: 60, Baseline: "naive"},
	"si":             {Rank: 70, Baseline: "naive"},
}

func seqRun(model, method string, seed uint64, R [][]float64) *Run {
	return &Run{
		SchemaVersion: SchemaVersion, Profile: "quick", Protocol: ProtocolSequence,
		Model: model, Method: method, MethodInfo: fixtureInfo[method], Seed: seed, Tasks: fixtureTasks,
		R: R, NextDay: len(R) == len(R[0])+2,
		Config: map[string]string{"lr": "0.001"},
	}
}

func dormRun(model, method string, seed uint64, day0, day30 float64) *Run {
	days := make([]float64, 31)
	for d := range days {
		days[d] = day0 + (day30-day0)*float64(d)/30
	}
	return &Run{
		SchemaVersion: SchemaVersion, Profile: "quick", Protocol: ProtocolDormancy,
		Model: model, Method: method, MethodInfo: fixtureInfo[method], Seed: seed, Tasks: []string{"speech"},
		Days: days,
	}
}

// shift returns a copy of R with the last row lowered by d (more
// forgetting) for every task.
func shift(R [][]float64, d float64) [][]float64 {
	out := make([][]float64, len(R))
	for i := range R {
		out[i] = append([]float64(nil), R[i]...)
	}
	for j := range out[len(out)-1] {
		out[len(out)-1][j] -= d
	}
	return out
}

// fixtureRuns is a small run folder: custom and gpt2-mini, four methods
// on the sequence protocol with two seeds, dormancy for three methods,
// and compression figures on the custom sequence runs.
func fixtureRuns() []*Run {
	var runs []*Run
	for _, model := range []string{"custom", "gpt2-mini"} {
		for mi, method := range []string{"naive", "ewc", "aisp", "replay-matched"} {
			for _, seed := range []uint64{1, 2} {
				// Less forgetting for later methods, a little seed noise.
				d := 0.1*float64(3-mi)/3 + 0.01*float64(seed)
				R := shift(threeTasks, d-0.05)
				r := seqRun(model, method, seed, R)
				if model == "custom" {
					r.Compression = map[string][]float64{
						TransformNone:    {0.6, 0.7, 0.8},
						TransformPrune30: {0.55, 0.65, 0.75},
						TransformINT4:    {0.5, 0.6, 0.7 - 0.01*float64(seed)},
					}
				}
				runs = append(runs, r)
			}
		}
		for mi, method := range []string{"naive", "aisp", "replay-matched"} {
			for _, seed := range []uint64{1, 2} {
				runs = append(runs, dormRun(model, method, seed, 0.8, 0.5+0.05*float64(mi)+0.01*float64(seed)))
			}
		}
	}
	for _, r := range runs {
		if err := r.Validate(); err != nil {
			panic(fmt.Sprintf("fixture %s/%s: %v", r.Model, r.Method, err))
		}
	}
	return runs
}
