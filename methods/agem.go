package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// agemDefaults are A-GEM's documented settings.
//
//   - buffer: rows of the episodic memory (a reservoir over the rows
//     stored at each task's end).
//   - per_task: rows of each finished task offered to the memory at its
//     end (drawn with Sample). Buzzega et al.'s runs use buffer / tasks.
//   - ref_rows: rows of the memory the reference gradient is computed on
//     each step; 0 means as many as the step's batch.
var agemDefaults = map[string]string{
	"buffer":   "1000",
	"per_task": "250",
	"ref_rows": "0",
}

// agem is averaged gradient episodic memory (Chaudhry et al. 2019). At
// each task's end per_task of its rows enter an episodic memory. From the
// second task on, every step computes a reference gradient g_ref on
// ref_rows rows drawn from the memory, and if the step's gradient g
// points against it (g·g_ref < 0) replaces g by its projection
// g − (g·g_ref / g_ref·g_ref)·g_ref, so that to first order the update
// does not raise the memory's loss. The memory's rows are never trained
// on directly.
//
// Memory: the buffer's rows and one parameter-sized buffer (g_ref).
// Compute per step beside naive's: one forward and backward pass of
// ref_rows memory rows and O(P) for the projection.
type agem struct {
	Base
	mem     *memory
	perTask int
	ref     int

	gref       []float32
	have       bool
	steps, hit int // this task's steps with a reference, and projections
}

func init() {
	Register(Info{
		Name:           "agem",
		Summary:        "A-GEM: project the step's gradient when it points against a reference gradient from the memory",
		Defaults:       agemDefaults,
		Label:          "A-GEM",
		Rank:           22,
		PlainFirstWake: AlwaysPlain,
		Baseline:       "naive",
		Buffered:       true,
		Cost:           "memory: the buffer's rows +1P (reference gradient); compute +1 forward+backward of ref_rows memory rows and +O(P) a step",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, agemDefaults)
			m := &agem{
				mem:     newMemory(s.Int("buffer", 1, math.MaxInt32)),
				perTask: s.Int("per_task", 1, math.MaxInt32),
				ref:     s.Int("ref_rows", 0, math.MaxInt32),
			}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}

// BeginTask starts the task's tally of projections.
func (a *agem) BeginTask(*Env, TaskData) error {
	a.steps, a.hit = 0, 0
	return nil
}

// TrainBatch computes the reference gradient for AddPenalty; b is
// trained on unchanged.
func (a *agem) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	a.have = false
	n := a.ref
	if n == 0 {
		n = b.B
	}
	idx := a.mem.drawShape(env.RNG, ShapeOf(b), n)
	if len(idx) == 0 {
		return b, nil
	}
	ref, err := a.mem.batch(idx)
	if err != nil {
		return nil, err
	}
	if _, err := env.Model.ForwardBackward(ref, models.ForwardOptions{}); err != nil {
		return nil, fmt.Errorf("agem: reference gradient on %d memory rows: %w", ref.B, err)
	}
	a.gref = append(a.gref[:0], env.Model.Grads().Data...)
	a.have = true
	return b, nil
}

// AddPenalty projects the step's gradient (no loss is added).
func (a *agem) AddPenalty(env *Env) float64 {
	if !a.have {
		return 0
	}
	a.have = false
	a.steps++
	if agemProject(env.Model.Grads().Data, a.gref) {
		a.hit++
	}
	return 0
}

// agemProject replaces g by g − (g·r / r·r)·r when g·r < 0, and says
// whether it did.
func agemProject(g, r []float32) bool {
	var gr, rr float64
	for i, v := range g {
		gr += float64(v) * float64(r[i])
		rr += float64(r[i]) * float64(r[i])
	}
	if gr >= 0 || rr == 0 {
		return false
	}
	c := float32(gr / rr)
	for i, v := range r {
		g[i] -= c * v
	}
	return true
}

// EndTask offers per_task rows of the task to the memory.
func (a *agem) EndTask(env *Env, t TaskData) error {
	b, err := t.Sample(env.RNG, a.perTask)
	if err != nil {
		return fmt.Errorf("agem: sampling %d rows of task %d (%s) for the memory: %w", a.perTask, t.Index(), t.Name(), err)
	}
	if err := a.mem.observe(env, withTask(b, t.Index()), t.Index(), false); err != nil {
		return fmt.Errorf("agem: task %d (%s): %w", t.Index(), t.Name(), err)
	}
	env.Logf("agem: task %d (%s): projected %d of %d steps; memory %d rows", t.Index(), t.Name(), a.hit, a.steps, a.mem.Len())
	return nil
}

// MarshalState saves the memory, the task's step and projection counts,
// and a reference gradient not yet used.
func (a *agem) MarshalState() ([]byte, error) {
	w := newStateWriter("agem/1")
	w.memory(a.mem)
	w.Int(a.steps)
	w.Int(a.hit)
	w.Bool(a.have)
	if a.have {
		w.Float32s(a.gref)
	}
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved; env.Model gives the
// number of parameters.
func (a *agem) UnmarshalState(env *Env, data []byte) error {
	r := newStateReader(data, "agem/1")
	mem := newMemory(a.mem.res.capacity)
	r.memory(mem)
	steps, hit := r.Int(), r.Int()
	have := r.Bool()
	var gref []float32
	if have {
		gref = r.vec(env.Model.Params().Len(), "reference gradient")
		if r.err == nil && gref == nil {
			r.err = fmt.Errorf("saved reference gradient is missing")
		}
	}
	if err := r.Err(); err != nil {
		return stateErr("agem", err)
	}
	a.mem, a.steps, a.hit, a.have, a.gref = mem, steps, hit, have, gref
	return nil
}
