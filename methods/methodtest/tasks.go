package methodtest

import (
	"fmt"
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
)

// clusterTask is one classification task over fixed synthetic rows: a
// methods.TaskData whose Sample and Validation draw copies of rows of
// its training and validation pools.
type clusterTask struct {
	idx        int
	name       string
	train, val *models.Batch
}

func (t *clusterTask) Index() int   { return t.idx }
func (t *clusterTask) Name() string { return t.name }

func (t *clusterTask) Sample(rng *rand.Rand, n int) (*models.Batch, error) {
	return pick(t.train, rng, n), nil
}

func (t *clusterTask) Validation(rng *rand.Rand, n int) (*models.Batch, error) {
	return pick(t.val, rng, n), nil
}

// clusterTasks builds the Tasks tasks of a run: Features Gaussian
// features of std 1; task k's inputs are shifted by +3 along feature
// 1+k, so a shared head can tell the tasks apart, and its label is
// [x0 > 0] for even k and [x0 < 0] for odd k, so that learning a task
// reverses what the one before taught about x0: training on the sequence
// forgets, and a method that protects earlier tasks trains differently
// from one that does not.
func clusterTasks(seed uint64) []*clusterTask {
	rng := rand.New(rand.NewPCG(seed, 77))
	mk := func(k, n int) *models.Batch {
		b := &models.Batch{Objective: models.Classify, B: n, T: Features,
			Features: make([]float32, n*Features), Targets: make([]int32, n), Task: make([]int, n)}
		for r := 0; r < n; r++ {
			row := b.Features[r*Features : (r+1)*Features]
			for i := range row {
				row[i] = float32(rng.NormFloat64())
			}
			row[1+k] += 3
			if (row[0] > 0) == (k%2 == 0) {
				b.Targets[r] = 1
			}
			b.Task[r] = k
		}
		return b
	}
	ts := make([]*clusterTask, Tasks)
	for k := range ts {
		ts[k] = &clusterTask{idx: k, name: fmt.Sprintf("cluster%d", k), train: mk(k, 400), val: mk(k, 100)}
	}
	return ts
}

// pick draws n rows of b uniformly with replacement, as a new batch of
// copies.
func pick(b *models.Batch, rng *rand.Rand, n int) *models.Batch {
	rows := make([]*models.Batch, n)
	for i := range rows {
		rows[i] = methods.Row(b, rng.IntN(b.B), 0)
	}
	out, err := methods.Concat(rows...)
	if err != nil {
		panic(err) // rows of one pool always share a shape
	}
	return out
}
