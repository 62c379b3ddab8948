package methods

import (
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// replayDefaults are replay's documented settings.
//
//   - buffer: rows held by the reservoir (Algorithm R over every row of
//     the training stream).
var replayDefaults = map[string]string{
	"buffer": "1000",
}

// replay is experience replay with a reservoir buffer (Chaudhry et al.
// 2019, "tiny episodic memories"): every training batch of B rows gets up
// to B memory rows of the same shape appended (1:1), drawn uniformly
// without replacement from the buffer before the batch's own rows are
// offered to it. Early in the first task, when the buffer holds fewer
// than B rows of the shape, all of them are mixed in.
type replay struct {
	Base
	mem  *memory
	task int
}

func init() {
	Register(Info{
		Name:     "replay",
		Summary:  "experience replay: reservoir buffer mixed 1:1 into every training batch",
		Defaults: replayDefaults,
		Rank:     20,
		Role:     RoleReplay,
		Baseline: "naive",
		Buffered: true,
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, replayDefaults)
			n := s.Int("buffer", 1, math.MaxInt32)
			if err := s.Err(); err != nil {
				return nil, err
			}
			return &replay{mem: newMemory(n)}, nil
		},
	})
}

func (r *replay) BeginTask(_ *Env, t TaskData) error {
	r.task = t.Index()
	return nil
}

func (r *replay) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	return r.mem.wakeMix(env, b, r.task, false)
}

// MarshalState saves the buffer and the current task.
func (r *replay) MarshalState() ([]byte, error) {
	w := newStateWriter("replay/1")
	w.memory(r.mem)
	w.Int(r.task)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved.
func (r *replay) UnmarshalState(_ *Env, data []byte) error {
	rd := newStateReader(data, "replay/1")
	rd.memory(r.mem)
	task := rd.Int()
	if err := rd.Err(); err != nil {
		return stateErr("replay", err)
	}
	r.task = task
	return nil
}
