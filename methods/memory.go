package methods

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/models"
)

// memory is the replay buffer of replay, aisp and replay-matched: a
// reservoir (Algorithm R, drawing from env.RNG) over every row of the
// training stream, each row kept as a private one-row copy.
//
// Rows of different shapes (objective, length, token or feature inputs)
// share the one reservoir, so that it stays a uniform sample of the whole
// stream; a batch is only ever built from rows of one shape.
type memory struct {
	res *Reservoir[entry]
}

// entry is one stored row.
type entry struct {
	row    *models.Batch
	shape  Shape
	seq    int64   // position in the training stream: larger is newer
	stored float64 // the row's loss when it entered the buffer; NaN if not scored
}

func newMemory(rows int) *memory { return &memory{res: NewReservoir[entry](rows)} }

// Len is the number of rows held.
func (m *memory) Len() int { return m.res.Len() }

// observe offers every row of b (the task's own batch, task index task)
// to the reservoir. With score, the rows that enter have their loss
// under the current parameters recorded (one clean Losses call on them).
func (m *memory) observe(env *Env, b *models.Batch, task int, score bool) error {
	type put struct {
		slot, row int
		seq       int64
	}
	var puts []put
	for r := 0; r < b.B; r++ {
		seq := m.res.Seen()
		if slot, ok := m.res.Offer(env.RNG); ok {
			puts = append(puts, put{slot, r, seq})
		}
	}
	if len(puts) == 0 {
		return nil
	}
	rows := make([]*models.Batch, len(puts))
	for i, p := range puts {
		rows[i] = Row(b, p.row, task)
	}
	losses := make([]float64, len(puts))
	for i := range losses {
		losses[i] = math.NaN()
	}
	if score {
		kept, err := Concat(rows...)
		if err != nil {
			return err
		}
		if losses, err = env.Model.Losses(kept, models.ForwardOptions{}); err != nil {
			return fmt.Errorf("scoring rows entering the buffer: %w", err)
		}
	}
	for i, p := range puts {
		m.res.Put(p.slot, entry{row: rows[i], shape: ShapeOf(b), seq: p.seq, stored: losses[i]})
	}
	return nil
}

// drawShape returns up to n distinct rows of the given shape, uniformly
// without replacement (all of them when fewer than n are held).
func (m *memory) drawShape(rng *rand.Rand, shape Shape, n int) []int {
	var idx []int
	for i, e := range m.res.Items() {
		if e.shape == shape {
			idx = append(idx, i)
		}
	}
	if len(idx) <= n {
		return idx
	}
	for i := 0; i < n; i++ { // partial Fisher–Yates
		j := i + rng.IntN(len(idx)-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:n]
}

// drawAny picks the shape of a uniformly drawn row (so a shape is chosen
// with probability proportional to its rows) and returns up to n distinct
// rows of that shape.
func (m *memory) drawAny(rng *rand.Rand, n int) []int {
	if m.Len() == 0 {
		return nil
	}
	shape := m.res.Items()[rng.IntN(m.Len())].shape
	return m.drawShape(rng, shape, n)
}

// batch concatenates the rows at idx.
func (m *memory) batch(idx []int) (*models.Batch, error) {
	rows := make([]*models.Batch, len(idx))
	for i, j := range idx {
		rows[i] = m.res.Items()[j].row
	}
	return Concat(rows...)
}

// losses scores the rows at idx (all rows when idx is nil) with clean
// forward passes, chunk rows of one shape at a time; out[k] is the loss
// of row idx[k].
func (m *memory) losses(model models.Model, idx []int, chunk int) ([]float64, error) {
	if idx == nil {
		idx = make([]int, m.Len())
		for i := range idx {
			idx[i] = i
		}
	}
	chunk = max(chunk, 1)
	out := make([]float64, len(idx))
	groups := map[Shape][]int{} // positions in idx
	var order []Shape
	for k, i := range idx {
		s := m.res.Items()[i].shape
		if _, ok := groups[s]; !ok {
			order = append(order, s)
		}
		groups[s] = append(groups[s], k)
	}
	for _, s := range order {
		ks := groups[s]
		for lo := 0; lo < len(ks); lo += chunk {
			part := ks[lo:min(lo+chunk, len(ks))]
			rows := make([]int, len(part))
			for j, k := range part {
				rows[j] = idx[k]
			}
			b, err := m.batch(rows)
			if err != nil {
				return nil, err
			}
			l, err := model.Losses(b, models.ForwardOptions{})
			if err != nil {
				return nil, fmt.Errorf("scoring buffered rows: %w", err)
			}
			for j, k := range part {
				out[k] = l[j]
			}
		}
	}
	return out, nil
}

// wakeMix is replay's TrainBatch: draw up to b.B memory rows of b's
// shape (uniformly, before b's own rows are offered, so a row is never
// replayed in the step it arrives), offer b's rows to the reservoir, and
// return b followed by the memory rows.
func (m *memory) wakeMix(env *Env, b *models.Batch, task int, score bool) (*models.Batch, error) {
	idx := m.drawShape(env.RNG, ShapeOf(b), b.B)
	var mem *models.Batch
	if len(idx) > 0 {
		var err error
		// Built before observe, which may overwrite the drawn slots.
		if mem, err = m.batch(idx); err != nil {
			return nil, err
		}
	}
	if err := m.observe(env, b, task, score); err != nil {
		return nil, err
	}
	if mem == nil {
		return b, nil
	}
	return Concat(withTask(b, task), mem)
}
