package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RunSpec names one independent run.
type RunSpec struct {
	Protocol   string
	Model      string
	Method     string
	Seed       uint64
	Order      []string
	OrderIndex int // position of Order in Profile.Orders
	// File is the run's result file relative to the output folder:
	// runs/<protocol>/<model>/<method>/seed<k>.json, or seed<k>-order<i>.json
	// (i from 1) when the profile has several task orders.
	File string
}

// Name is the run's file path without "runs/" and ".json", e.g.
// "sequence/custom/ewc/seed1".
func (s RunSpec) Name() string {
	name := strings.TrimPrefix(s.File, "runs/")
	if n, ok := strings.CutSuffix(name, ".config.json"); ok {
		return n
	}
	return strings.TrimSuffix(name, ".json")
}

// Expand lists the runs of a profile: for each plan (protocol), model,
// method, task order and seed, in that nesting. A run that two plans of
// one protocol both name (after -models or -methods overrides) is listed
// once.
func Expand(p Profile) []RunSpec {
	var out []RunSpec
	seen := map[string]bool{}
	for _, pr := range protocolNames {
		for _, pl := range p.Plans {
			if pl.Protocol != pr {
				continue
			}
			for _, m := range pl.Models {
				for _, meth := range pl.Methods {
					for oi, o := range p.Orders {
						for _, seed := range p.Seeds {
							file := fmt.Sprintf("runs/%s/%s/%s/seed%d.json", pr, m, meth, seed)
							if len(p.Orders) > 1 {
								file = fmt.Sprintf("runs/%s/%s/%s/seed%d-order%d.json", pr, m, meth, seed, oi+1)
							}
							if seen[file] {
								continue
							}
							seen[file] = true
							out = append(out, RunSpec{Protocol: pr, Model: m, Method: meth, Seed: seed, Order: o, OrderIndex: oi, File: file})
						}
					}
				}
			}
		}
	}
	return out
}

// Jobs groups runs that share a trained model: a compression run joins
// the sequence run of the same model, method, seed and order (its model
// is that run's final model, kept in memory). Every other run is a job of
// its own. Jobs keep the order of Expand.
func Jobs(specs []RunSpec) [][]RunSpec {
	var jobs [][]RunSpec
	seq := map[string]int{}
	key := func(s RunSpec) string { return fmt.Sprintf("%s|%s|%d|%d", s.Model, s.Method, s.Seed, s.OrderIndex) }
	for _, s := range specs {
		if s.Protocol == Compression {
			if j, ok := seq[key(s)]; ok {
				jobs[j] = append(jobs[j], s)
				continue
			}
		}
		if s.Protocol == Sequence {
			seq[key(s)] = len(jobs)
		}
		jobs = append(jobs, []RunSpec{s})
	}
	return jobs
}

func (r *Runner) exists(s RunSpec) bool {
	_, err := os.Stat(filepath.Join(r.Out, s.File))
	return err == nil
}

// work is a run's wake steps weighed by its model's cost, for the ETA.
func (r *Runner) work(s RunSpec) float64 {
	return float64(r.wakeSteps(s)) * r.cost(s.Model)
}

// cost is the ETA's weight of one wake step of model (ModelInfo.Cost).
func (r *Runner) cost(model string) float64 {
	if r.Build.Describe == nil {
		return 1
	}
	if info, err := r.Build.Describe(model); err == nil && info.Cost > 0 {
		return info.Cost
	}
	return 1
}

// wakeSteps estimates a run's wake steps, for the ETA.
func (r *Runner) wakeSteps(s RunSpec) int64 {
	p := r.Profile
	switch s.Protocol {
	case Sequence:
		n := len(s.Order) * p.Steps
		if p.Interference != "" {
			n += p.Steps
		}
		return int64(n)
	case Dormancy:
		return int64(p.Steps + p.Days*p.DaySteps)
	}
	return 0
}

// mine lists the jobs of this shard: those whose first run's name
// hashes to Shard (ShardOf), so that a run's shard does not depend on
// its position in the plan.
func (r *Runner) mine() [][]RunSpec {
	jobs := Jobs(Expand(r.Profile))
	if r.Shards <= 1 {
		return jobs
	}
	var mine [][]RunSpec
	for _, j := range jobs {
		if ShardOf(j[0].Name(), r.Shards) == r.Shard {
			mine = append(mine, j)
		}
	}
	return mine
}

// todo lists the jobs of this shard that have a run without a result
// file yet.
func (r *Runner) todo() [][]RunSpec {
	var todo [][]RunSpec
	for _, j := range r.mine() {
		var left []RunSpec
		for _, s := range j {
			if _, err := os.Stat(filepath.Join(r.Out, s.File)); err != nil {
				left = append(left, s)
			}
		}
		if len(left) > 0 {
			todo = append(todo, j) // the whole job: a compression run needs its sequence model
		}
	}
	return todo
}
