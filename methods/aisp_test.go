package methods

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sleepbench/sleepbench/models"
)

// recModel records the options of every Losses call.
type recModel struct {
	*models.MLP
	losses []models.ForwardOptions
}

func (m *recModel) Losses(b *models.Batch, opt models.ForwardOptions) ([]float64, error) {
	m.losses = append(m.losses, opt)
	return m.MLP.Losses(b, opt)
}

// stepRec is one env.Step call.
type stepRec struct {
	opt     models.ForwardOptions
	lr      float64
	rows    int
	weights []float32
	params  *models.Params // parameters after the step
}

// sleepRun trains one cluster task with method for 40 steps of 16 rows
// at LR 0.1 through a recording env, then calls EndTask. It returns the
// env.Step calls (wake then sleep), the model and the method.
func sleepRun(t *testing.T, method string, cfg Config) ([]stepRec, *recModel, Method) {
	t.Helper()
	m, err := New(method, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mlp, err := models.NewMLP(models.MLPConfig{In: 10, Hidden: []int{16}, Classes: []int{2}, SharedHead: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	model := &recModel{MLP: mlp}
	task := clusterTasks(3)[0]
	var steps []stepRec
	opt := &models.SGD{}
	env := &Env{Model: model, RNG: rand.New(rand.NewPCG(4, 4)), Logf: t.Logf, Tasks: []TaskData{task},
		Cfg: TrainConfig{BatchSize: 16, StepsPerTask: 40, LR: 0.1}}
	env.Step = func(b *models.Batch, fo models.ForwardOptions, lr float64) (float64, error) {
		loss, err := model.ForwardBackward(b, fo)
		if err != nil {
			return 0, err
		}
		m.AddPenalty(env)
		opt.Step(model.Params(), model.Grads(), lr)
		steps = append(steps, stepRec{opt: fo, lr: lr, rows: b.B, weights: b.Weights, params: model.Params().Clone()})
		return loss, nil
	}
	if err := m.BeginTask(env, task); err != nil {
		t.Fatal(err)
	}
	data := rand.New(rand.NewPCG(5, 5))
	for s := 0; s < 40; s++ {
		in := pick(task.train, data, 16)
		b, err := m.TrainBatch(env, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Step(b, models.ForwardOptions{}, env.Cfg.LR); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.EndTask(env, task); err != nil {
		t.Fatal(err)
	}
	return steps, model, m
}

func TestAISPSleep(t *testing.T) {
	steps, model, m := sleepRun(t, "aisp", Config{"buffer": "100"})
	a := m.(*aisp)
	if a.mem.Len() != 100 {
		t.Fatalf("buffer holds %d rows, want 100", a.mem.Len())
	}
	wake, sleep := steps[:40], steps[40:]
	for i, s := range wake {
		if s.rows != 16 || s.lr != 0.1 || s.opt != (models.ForwardOptions{}) {
			t.Fatalf("wake step %d: rows %d lr %v opt %+v (want 16 rows, LR, clean; wake_replay is off)", i, s.rows, s.lr, s.opt)
		}
	}
	// Budget: 10 × 0.1 × 40 steps at 0.1 × LR.
	if len(sleep) != 40 {
		t.Fatalf("%d sleep steps, want compression × sleep_fraction × StepsPerTask = 40", len(sleep))
	}
	if first := sleep[0].opt; first.EmbedNoise != 0.1 || first.AttnNoise != 0.1 || first.RNG == nil {
		t.Errorf("first sleep step options %+v, want noise 0.1 with an RNG", first)
	}
	if last := sleep[39].opt; last.EmbedNoise != 0 || last.AttnNoise != 0 {
		t.Errorf("last sleep step options %+v, want noise 0", last)
	}
	reverse := 0
	for i, s := range sleep {
		if math.Abs(s.lr-0.01) > 1e-15 || s.rows != 16 {
			t.Fatalf("sleep step %d: lr %v rows %d, want 0.01 and 16", i, s.lr, s.rows)
		}
		if want := float32(0.1 * (1 - float64(i)/39)); math.Abs(float64(s.opt.EmbedNoise-want)) > 1e-7 {
			t.Errorf("sleep step %d noise %v, want linear %v", i, s.opt.EmbedNoise, want)
		}
		// Cycles of 10 steps; with reverse_fraction 0.3, cycle 1 of 0..3
		// replays newest → oldest, without importance weights.
		if i/10 == 1 {
			reverse++
			if s.weights != nil {
				t.Errorf("reverse step %d has importance weights", i)
			}
			continue
		}
		if len(s.weights) != 16 {
			t.Fatalf("prioritised step %d has %d weights", i, len(s.weights))
		}
		var sum float64
		for _, w := range s.weights {
			if !(w > 0) {
				t.Fatalf("weight %v not positive", w)
			}
			sum += float64(w)
		}
		if mean := sum / 16; math.Abs(mean-1) > 1e-5 {
			t.Fatalf("prioritised step %d: weights average %v, want 1", i, mean)
		}
	}
	if a.last.reverse != reverse {
		t.Errorf("%d reverse steps recorded, want %d", a.last.reverse, reverse)
	}
	// Scoring (rows entering the buffer, the buffer at sleep start and
	// every 50 steps) never sees noise.
	if len(model.losses) == 0 {
		t.Fatal("no Losses calls: rows were not scored")
	}
	for i, o := range model.losses {
		if o != (models.ForwardOptions{}) {
			t.Fatalf("Losses call %d had options %+v", i, o)
		}
	}
	// SHN ran after the last replay step: matrices change, and their RMS
	// is back to what it was before the sleep (after the last wake step),
	// not after the replay; biases are untouched.
	before, after := sleep[39].params, model.Params()
	presleep := wake[39].params
	for _, tn := range after.Tensors {
		x, y := before.Slice(tn), after.Slice(tn)
		if tn.Kind != models.Matrix {
			if !slices.Equal(x, y) {
				t.Errorf("SHN changed %s", tn.Name)
			}
			continue
		}
		if slices.Equal(x, y) {
			t.Errorf("SHN left %s unchanged", tn.Name)
		}
		if r0, r1 := rmsOf(presleep.Slice(tn)), rmsOf(y); math.Abs(r1/r0-1) > 1e-5 {
			t.Errorf("%s RMS %.6f before the sleep, %.6f after SHN", tn.Name, r0, r1)
		}
		if rmsOf(x) == rmsOf(presleep.Slice(tn)) {
			t.Errorf("%s: the replay left the RMS unchanged, so the test shows nothing", tn.Name)
		}
	}
}

func TestAISPAblationsAndMatched(t *testing.T) {
	cases := []struct {
		method       string
		noise, shn   bool
		weights, rev bool
	}{
		{"aisp-no-noise", false, true, true, true},
		{"aisp-priority", false, false, true, false},
		{"aisp-no-shn", true, false, true, true},
		{"aisp-replay-only", false, false, true, true},
		{"replay-matched", false, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			steps, model, m := sleepRun(t, c.method, Config{"buffer": "100"})
			sleep := steps[40:]
			if len(sleep) != 40 {
				t.Fatalf("%d sleep steps, want 40", len(sleep))
			}
			noisy, weighted := false, 0
			for _, s := range sleep {
				if s.lr != sleep[0].lr || math.Abs(s.lr-0.01) > 1e-15 {
					t.Fatalf("sleep lr %v, want 0.01", s.lr)
				}
				noisy = noisy || s.opt.EmbedNoise != 0 || s.opt.AttnNoise != 0
				if s.weights != nil {
					weighted++
				}
			}
			if noisy != c.noise {
				t.Errorf("noise %v, want %v", noisy, c.noise)
			}
			// Prioritised steps carry importance weights; reverse cycles
			// (10 of the 40 steps) and uniform replay do not.
			want := 0
			switch {
			case c.weights && c.rev:
				want = 30
			case c.weights:
				want = 40
			}
			if weighted != want {
				t.Errorf("%d of 40 steps weighted, want %d", weighted, want)
			}
			rev := m.(*aisp).last.reverse
			if (rev > 0) != c.rev {
				t.Errorf("%d reverse steps, want reverse cycles %v", rev, c.rev)
			}
			shn := !slices.Equal(sleep[39].params.Data, model.Params().Data)
			if shn != c.shn {
				t.Errorf("SHN applied %v, want %v", shn, c.shn)
			}
		})
	}
}

func TestAISPDeterministic(t *testing.T) {
	a := trainRun(t, "aisp", Config{"buffer": "100"}, clusterTasks(1), 1, 60)
	b := trainRun(t, "aisp", Config{"buffer": "100"}, clusterTasks(1), 1, 60)
	if !slices.Equal(a.model.Params().Data, b.model.Params().Data) {
		t.Fatal("two runs with one seed differ")
	}
	c := trainRun(t, "aisp", Config{"buffer": "100"}, clusterTasks(1), 2, 60)
	if slices.Equal(a.model.Params().Data, c.model.Params().Data) {
		t.Fatal("two seeds give the same parameters")
	}
}

// TestPrioritiesAcrossShapes checks that with rows of two shapes a row is
// still drawn with probability p_i / Σp, where p_i = max(0, now − stored)
// + eps, and that every batch holds one shape.
func TestPrioritiesAcrossShapes(t *testing.T) {
	mem := newMemory(4)
	a := &models.Batch{Objective: models.Classify, B: 1, T: 2, Features: []float32{1, 2}, Targets: []int32{0}, Task: []int{0}}
	b := &models.Batch{Objective: models.Classify, B: 1, T: 3, Features: []float32{1, 2, 3}, Targets: []int32{0}, Task: []int{1}}
	stored := []float64{1, 1, 2, 0.5}
	now := []float64{1.5, 0.2, 2.9, 0.5} // forgetting 0.5, 0 (clipped), 0.9, 0
	for i, row := range []*models.Batch{a, a, b, b} {
		mem.res.Put(i, entry{row: row, shape: ShapeOf(row), seq: int64(i), stored: stored[i]})
	}
	pr, err := newPriorities(mem, now, 0.1, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := []float64{0.6, 0.1, 1.0, 0.1} // + eps 0.1
	if pr.forgotten != 2 {
		t.Errorf("%d rows forgotten, want 2", pr.forgotten)
	}
	counts := make([]float64, 4)
	rng := rand.New(rand.NewPCG(8, 8))
	const draws = 40000
	for i := 0; i < draws; i++ {
		idx, w, raw := pr.draw(rng, 2)
		if mem.res.Items()[idx[0]].shape != mem.res.Items()[idx[1]].shape {
			t.Fatal("a batch mixes shapes")
		}
		// β = 1: the raw weight is (N·P)^−1 / max = P_min / P = 0.1 / p;
		// the batch's weights are the raw ones over their mean.
		r0, r1 := 0.1/p[idx[0]], 0.1/p[idx[1]]
		if math.Abs(raw-(r0+r1)) > 1e-9 {
			t.Fatalf("raw weight sum %v, want %v", raw, r0+r1)
		}
		for k, j := range idx {
			counts[j]++
			if want := (0.1 / p[j]) / ((r0 + r1) / 2); math.Abs(float64(w[k])-want) > 1e-6 {
				t.Fatalf("row %d weight %v, want %v", j, w[k], want)
			}
		}
		if mean := (float64(w[0]) + float64(w[1])) / 2; math.Abs(mean-1) > 1e-6 {
			t.Fatalf("batch weights %v average %v, want 1", w, mean)
		}
	}
	for i := range p {
		got, want := counts[i]/(2*draws), p[i]/1.8
		// sd of a frequency ≤ √(0.25/80000) < 0.002; allow 0.01.
		if math.Abs(got-want) > 0.01 {
			t.Errorf("row %d drawn with frequency %.4f, want %.4f", i, got, want)
		}
	}
}

func TestReverseReplayOrder(t *testing.T) {
	mem := newMemory(5)
	for i := 0; i < 5; i++ {
		r := &models.Batch{Objective: models.Masked, B: 1, T: 4, Inputs: []int32{1, 2, 3, 4}, Targets: []int32{-1, 9, -1, -1}, Lengths: []int{3}}
		mem.res.Put(i, entry{row: r, shape: ShapeOf(r), seq: int64([]int{30, 10, 50, 20, 40}[i])})
	}
	items := mem.res.Items()
	order := []int{2, 4, 0, 3, 1} // by seq, newest first
	idx, cur := nextNewest(items, order, 0, 2)
	if !slices.Equal(idx, []int{2, 4}) || cur != 2 {
		t.Fatalf("first reverse batch %v (cursor %d), want [2 4]", idx, cur)
	}
	idx, cur = nextNewest(items, order, 4, 3) // wraps round
	if !slices.Equal(idx, []int{1, 2, 4}) || cur != 2 {
		t.Fatalf("wrapping reverse batch %v (cursor %d), want [1 2 4]", idx, cur)
	}
	// reverse_tokens: within the real length, targets with their tokens.
	b, _ := mem.batch([]int{0})
	if err := reverseRows(b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Inputs, []int32{3, 2, 1, 4}) || !slices.Equal(b.Targets, []int32{-1, 9, -1, -1}) {
		t.Fatalf("reversed row %v targets %v", b.Inputs, b.Targets)
	}
	if !slices.Equal(items[0].row.Inputs, []int32{1, 2, 3, 4}) {
		t.Fatal("reversal reached the stored row")
	}
	b.Objective = models.NextToken
	if err := reverseRows(b); err == nil {
		t.Fatal("token reversal accepted for next-token rows")
	}
	// And aisp refuses the setting on a next-token stream.
	m, _ := New("aisp", Config{"reverse_tokens": "true"})
	env := &Env{RNG: rand.New(rand.NewPCG(1, 1))}
	lm := &models.Batch{Objective: models.NextToken, B: 1, T: 2, Inputs: []int32{1, 2}, Targets: []int32{2, 3}}
	if _, err := m.TrainBatch(env, lm); err == nil {
		t.Fatal("aisp accepted reverse_tokens on next-token data")
	}
}

func TestReverseCycleSpread(t *testing.T) {
	var got []int
	for c := 0; c < 20; c++ {
		if reverseCycle(c, 0.3) {
			got = append(got, c)
		}
	}
	if !slices.Equal(got, []int{1, 4, 8, 11, 14, 18}) {
		t.Fatalf("reverse cycles %v", got)
	}
	for c := 0; c < 20; c++ {
		if reverseCycle(c, 0) || !reverseCycle(c, 1) {
			t.Fatal("fractions 0 and 1 not respected")
		}
	}
}

// TestSleepStepSizeMatchesControl checks that, for the same gradients, a
// prioritised sleep step of AISP moves the parameters as far as the
// uniform step of its compute-matched control: the importance weights
// drawn for a batch average 1, so priority changes which rows are
// replayed, never how big the step is. Every buffered row is the same
// row, so every row's gradient is the same whatever its weight.
func TestSleepStepSizeMatchesControl(t *testing.T) {
	mem := newMemory(8)
	row := &models.Batch{Objective: models.Classify, B: 1, T: 10, Features: []float32{1, -2, 0.5, 3, 0, 1, -1, 2, 0.25, -0.5}, Targets: []int32{1}, Task: []int{0}}
	stored := []float64{1, 1, 1, 1, 1, 1, 1, 1}
	now := []float64{1, 1.01, 1.1, 1.5, 2, 3, 5, 9} // very unequal priorities
	for i := range stored {
		mem.res.Put(i, entry{row: row, shape: ShapeOf(row), seq: int64(i), stored: stored[i]})
	}
	pr, err := newPriorities(mem, now, 0.01, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	idx, w, raw := pr.draw(rand.New(rand.NewPCG(3, 3)), 6)
	rawMean := raw / 6
	if math.Abs(rawMean-1) < 0.1 {
		t.Fatalf("raw weights average %v: too close to 1 for the test to show anything", rawMean)
	}
	b, err := mem.batch(idx)
	if err != nil {
		t.Fatal(err)
	}
	// update returns ‖Δθ‖ of one SGD step at lr 0.01 from the same
	// initial model on b with the given row weights.
	update := func(weights []float32) float64 {
		mlp, err := models.NewMLP(models.MLPConfig{In: 10, Hidden: []int{16}, Classes: []int{2}, SharedHead: true}, 1)
		if err != nil {
			t.Fatal(err)
		}
		before := mlp.Params().Clone()
		bb := *b
		bb.Weights = weights
		if _, err := mlp.ForwardBackward(&bb, models.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		(&models.SGD{}).Step(mlp.Params(), mlp.Grads(), 0.01)
		var ss float64
		for i, v := range mlp.Params().Data {
			d := float64(v) - float64(before.Data[i])
			ss += d * d
		}
		return math.Sqrt(ss)
	}
	prioritised, uniform := update(w), update(nil)
	if math.Abs(prioritised/uniform-1) > 1e-6 {
		t.Errorf("prioritised step norm %.9g, uniform %.9g: ratio %.9g, want 1 to 1e-6", prioritised, uniform, prioritised/uniform)
	}
	// The weights before normalisation would have scaled the step by
	// their mean: what AISP did when weights were divided by their max.
	rawW := make([]float32, len(w))
	for k, i := range idx {
		rawW[k] = float32(pr.weights[i])
	}
	if got := update(rawW) / uniform; math.Abs(got-rawMean) > 1e-5 {
		t.Errorf("unnormalised step ratio %v, want the raw mean weight %v", got, rawMean)
	}
}

// TestLadderChangesOneSetting checks that every method with a Parent
// differs from it in exactly one setting, and that the ladder runs from
// replay-matched to aisp.
func TestLadderChangesOneSetting(t *testing.T) {
	var rungs int
	for _, name := range Default.Names() {
		info, _ := Default.Lookup(name)
		if info.Parent == "" {
			continue
		}
		parent, err := Default.Lookup(info.Parent)
		if err != nil {
			t.Fatalf("%s: parent: %v", name, err)
		}
		var diff []string
		for k, v := range info.Defaults {
			if pv, ok := parent.Defaults[k]; !ok || pv != v {
				diff = append(diff, k)
			}
		}
		for k := range parent.Defaults {
			if _, ok := info.Defaults[k]; !ok {
				diff = append(diff, k)
			}
		}
		if len(diff) != 1 {
			t.Errorf("%s differs from its parent %s in %v, want exactly one setting", name, info.Parent, diff)
		}
		rungs++
	}
	var path []string
	for m := "aisp"; m != ""; {
		path = append(path, m)
		info, _ := Default.Lookup(m)
		m = info.Parent
	}
	want := []string{"aisp", "aisp-no-noise", "aisp-replay-only", "aisp-priority", "replay-matched"}
	if !slices.Equal(path, want) {
		t.Errorf("ladder %v, want %v", path, want)
	}
	if rungs < 4 {
		t.Errorf("%d rungs, want at least 4", rungs)
	}
}

// AISP's first wake is plain fine-tuning (it only fills its buffer)
// unless wake_replay mixes the buffer into the wake batches; replay and
// DER++ mix from the first task's second step, so they never claim it.
func TestPlainFirstWakeSettings(t *testing.T) {
	for _, c := range []struct {
		method string
		cfg    Config
		want   bool
	}{
		{"aisp", Config{}, true},
		{"aisp", Config{"wake_replay": "true"}, false},
		{"aisp-priority", Config{"wake_replay": "false"}, true},
		{"replay-matched", Config{}, true},
		{"naive", Config{}, true},
		{"ewc", Config{"lambda": "100"}, true},
		{"replay", Config{}, false},
		{"derpp", Config{}, false},
	} {
		info, err := Default.Lookup(c.method)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.IsPlainFirstWake(c.cfg); got != c.want {
			t.Errorf("%s %v: IsPlainFirstWake %v, want %v", c.method, c.cfg, got, c.want)
		}
	}
}
