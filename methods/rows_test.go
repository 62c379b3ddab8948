package methods

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

func TestRowAndConcat(t *testing.T) {
	lm := &models.Batch{Objective: models.Masked, B: 2, T: 3,
		Inputs: []int32{1, 2, 3, 4, 5, 6}, Targets: []int32{-1, 7, -1, 8, -1, -1}, Lengths: []int{3, 2}}
	r := Row(lm, 1, 4)
	if r.B != 1 || !slices.Equal(r.Inputs, []int32{4, 5, 6}) || !slices.Equal(r.Targets, []int32{8, -1, -1}) ||
		!slices.Equal(r.Lengths, []int{2}) || !slices.Equal(r.Task, []int{4}) {
		t.Fatalf("row %+v", r)
	}
	lm.Inputs[3] = 99
	if r.Inputs[0] != 4 {
		t.Fatal("Row shares the caller's buffer")
	}
	other := &models.Batch{Objective: models.Masked, B: 1, T: 3, Inputs: []int32{7, 8, 9}, Targets: []int32{-1, -1, 1},
		Task: []int{2}, Weights: []float32{0.5}}
	c, err := Concat(r, other)
	if err != nil {
		t.Fatal(err)
	}
	if c.B != 2 || !slices.Equal(c.Inputs, []int32{4, 5, 6, 7, 8, 9}) || !slices.Equal(c.Lengths, []int{2, 3}) ||
		!slices.Equal(c.Weights, []float32{1, 0.5}) || !slices.Equal(c.Task, []int{4, 2}) || len(c.Targets) != 6 {
		t.Fatalf("concat %+v", c)
	}
	cls := &models.Batch{Objective: models.Classify, B: 1, T: 3, Inputs: []int32{1, 2, 3}, Targets: []int32{0}, Task: []int{0}}
	if _, err := Concat(r, cls); err == nil {
		t.Fatal("concatenated masked and classify rows")
	}
	short := &models.Batch{Objective: models.Masked, B: 1, T: 2, Inputs: []int32{1, 2}, Targets: []int32{1, 2}, Task: []int{0}}
	if _, err := Concat(r, short); err == nil {
		t.Fatal("concatenated rows of different lengths")
	}
	noTask := &models.Batch{Objective: models.Masked, B: 1, T: 3, Inputs: []int32{1, 2, 3}, Targets: []int32{1, 2, 3}}
	if _, err := Concat(r, noTask); err == nil {
		t.Fatal("concatenated rows with and without Task")
	}
}

// TestConcatOutputs: Row keeps Batch.Outputs and Concat takes the largest
// of its inputs', 0 (all outputs) counting as the largest; replay's mixed
// batch so keeps the current task's mask over its older memory rows.
func TestConcatOutputs(t *testing.T) {
	mk := func(outputs int, labels ...int32) *models.Batch {
		n := len(labels)
		return &models.Batch{Objective: models.Classify, B: n, T: 2, Features: make([]float32, 2*n),
			Targets: labels, Task: make([]int, n), Outputs: outputs}
	}
	if r := Row(mk(4, 3, 1), 1, 0); r.Outputs != 4 {
		t.Errorf("Row: Outputs %d, want 4", r.Outputs)
	}
	for _, c := range []struct {
		in   []int
		want int
	}{
		{[]int{2}, 2},
		{[]int{2, 6, 4}, 6},
		{[]int{6, 2}, 6},
		{[]int{0, 0}, 0},
		{[]int{2, 0, 4}, 0},
		{[]int{0, 10}, 0},
	} {
		var bs []*models.Batch
		for _, o := range c.in {
			bs = append(bs, mk(o, 1))
		}
		got, err := Concat(bs...)
		if err != nil {
			t.Fatal(err)
		}
		if got.Outputs != c.want {
			t.Errorf("Concat of Outputs %v: %d, want %d", c.in, got.Outputs, c.want)
		}
	}

	// Replay: rows stored during task 0 (Outputs 2) are mixed into task
	// 1's batches (Outputs 4); the mixed batch has Outputs 4 and a model
	// accepts it.
	m, _ := New("replay", Config{"buffer": "20"})
	env := &Env{RNG: rand.New(rand.NewPCG(1, 1))}
	model, err := models.NewMLP(models.MLPConfig{In: 2, Classes: []int{10}, SharedHead: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	task0 := mk(2, 0, 1, 1, 0, 1, 0, 0, 1)
	out, err := m.TrainBatch(env, task0)
	if err != nil {
		t.Fatal(err)
	}
	if out, err = m.TrainBatch(env, task0); err != nil || out.B != 16 || out.Outputs != 2 {
		t.Fatalf("task 0, second batch: %v rows, Outputs %d (%v); want 16 rows, Outputs 2", out.B, out.Outputs, err)
	}
	task1 := mk(4, 2, 3, 3, 2, 2, 3, 2, 3)
	if out, err = m.TrainBatch(env, task1); err != nil || out.B != 16 || out.Outputs != 4 {
		t.Fatalf("task 1: %v rows, Outputs %d (%v); want 16 rows, Outputs 4", out.B, out.Outputs, err)
	}
	if _, err := model.ForwardBackward(out, models.ForwardOptions{}); err != nil {
		t.Fatalf("mixed batch refused: %v", err)
	}
}

func TestReplayMixes(t *testing.T) {
	m, _ := New("replay", Config{"buffer": "50"})
	task := clusterTasks(1)[0]
	env := &Env{RNG: rand.New(rand.NewPCG(1, 1))}
	if err := m.BeginTask(env, task); err != nil {
		t.Fatal(err)
	}
	data := rand.New(rand.NewPCG(2, 2))
	seen := map[float32]bool{} // rows are told apart by their first feature
	for step := 0; step < 10; step++ {
		in := pick(task.train, data, 8)
		in.Task = nil // the method fills it in from BeginTask
		out, err := m.TrainBatch(env, in)
		if err != nil {
			t.Fatal(err)
		}
		wantB := 16
		if step == 0 {
			wantB = 8 // empty buffer: nothing to mix in
		}
		if out.B != wantB {
			t.Fatalf("step %d: %d rows, want %d", step, out.B, wantB)
		}
		if !slices.Equal(out.Features[:8*10], in.Features) {
			t.Fatal("the task's own rows do not come first")
		}
		mem := map[float32]bool{}
		for r := 8; r < out.B; r++ {
			f := out.Features[r*10]
			if !seen[f] {
				t.Fatalf("step %d: memory row %d was never in the stream before this step", step, r)
			}
			if mem[f] {
				t.Fatalf("step %d: memory row drawn twice in one batch", step)
			}
			mem[f] = true
		}
		for _, k := range out.Task {
			if k != 0 {
				t.Fatalf("task id %d, want 0", k)
			}
		}
		for r := 0; r < 8; r++ {
			seen[in.Features[r*10]] = true
		}
	}
	if n := m.(*replay).mem.Len(); n != 50 {
		t.Fatalf("buffer holds %d rows after 80, want 50", n)
	}
}

func TestJointMix(t *testing.T) {
	ts := clusterTasks(1)
	third := *ts[0]
	third.idx = 2
	third.train = pick(ts[0].train, rand.New(rand.NewPCG(4, 4)), 100)
	for i := range third.train.Task {
		third.train.Task[i] = 2
	}
	m, _ := New("joint", nil)
	env := &Env{RNG: rand.New(rand.NewPCG(1, 1)), Tasks: []TaskData{ts[0]}}
	cur := ts[1]
	in := pick(cur.train, rand.New(rand.NewPCG(3, 3)), 32)
	for i := range in.Task {
		in.Task[i] = 1
	}
	if err := m.BeginTask(env, ts[0]); err != nil {
		t.Fatal(err)
	}
	if out, _ := m.TrainBatch(env, in); out != in {
		t.Fatal("joint changed the batch of the first task")
	}
	env.Tasks = []TaskData{ts[0], &third, cur}
	if err := m.BeginTask(env, cur); err != nil {
		t.Fatal(err)
	}
	total := map[int]int{}
	for step := 0; step < 3; step++ {
		out, err := m.TrainBatch(env, in)
		if err != nil {
			t.Fatal(err)
		}
		if out.B != 32 {
			t.Fatalf("%d rows, want 32", out.B)
		}
		count := map[int]int{}
		for _, k := range out.Task {
			count[k]++
		}
		for k := 0; k < 3; k++ {
			if count[k] < 10 || count[k] > 11 {
				t.Fatalf("step %d: task %d has %d rows, want 10 or 11", step, k, count[k])
			}
			total[k] += count[k]
		}
	}
	// Over 3 steps the 2 spare rows rotate: 32 rows each.
	for k := 0; k < 3; k++ {
		if total[k] != 32 {
			t.Errorf("task %d got %d rows over 3 steps, want 32", k, total[k])
		}
	}
}
