package bench

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/models"
)

func testSettings() Settings {
	return Settings{Batch: 3, EvalBatch: 2, EvalRows: 4, LR: 0.3, MinLR: 0.03, Warmup: 1, Schedule: Cosine, ClipNorm: 0}
}

// The loop calls the hooks and the model in the documented order, and
// env.Step (sleep) takes steps with the same code, counted in Steps and
// Tokens.
func TestLoopHookOrder(t *testing.T) {
	ev := &events{}
	m := newFakeModel("fake", 1, ev)
	rec := &recorder{ev: ev, sleep: 2}
	l := NewLoop("run", m, rec, sgd{ev: ev}, testSettings(), 1)
	a := &fakeTask{name: "email", idx: 0}
	b := &fakeTask{name: "fiction", idx: 1}
	if err := l.Train(Period{Task: a, Steps: 2, Label: "task 1 (email)"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Train(Period{Task: b, Steps: 1, Label: "task 2 (fiction)", Stream: 1}); err != nil {
		t.Fatal(err)
	}
	step := []string{"batch", "fb", "penalty", "opt"}
	sleep := []string{"fb", "noise", "penalty", "opt"}
	var want []string
	want = append(want, "begin:email tasks=email steps=2")
	want = append(want, step...)
	want = append(want, step...)
	want = append(want, "end:email")
	want = append(want, sleep...)
	want = append(want, sleep...)
	want = append(want, "begin:fiction tasks=email,fiction steps=1")
	want = append(want, step...)
	want = append(want, "end:fiction")
	want = append(want, sleep...)
	want = append(want, sleep...)
	if diff := cmp.Diff(want, ev.log); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// 3 wake steps of 3 rows × 4 tokens, 4 sleep steps of 2 rows × 4 tokens.
	if l.Steps != 7 || l.Tokens != 3*12+4*8 {
		t.Errorf("Steps, Tokens = %d, %d; want 7, 68", l.Steps, l.Tokens)
	}
}

// A NaN loss stops the run with an error naming the run, step and task,
// before the optimiser touches the parameters.
func TestNaNStopsRun(t *testing.T) {
	m := newFakeModel("fake", 1, nil)
	m.nanAt = 5 // task 2, step 2 with 3 steps per task
	l := NewLoop("sequence/fake/naive/seed1", m, &recorder{}, sgd{}, testSettings(), 1)
	ts := []Task{&fakeTask{name: "speech", idx: 0}, &fakeTask{name: "email", idx: 1}, &fakeTask{name: "fiction", idx: 2}}
	_, err := RunSequence(l, ts, nil, 3)
	if err == nil {
		t.Fatal("no error for a NaN loss")
	}
	want := "sequence/fake/naive/seed1: NaN loss at step 2 of task 2 (email)"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if l.Steps != 4 {
		t.Errorf("%d optimiser steps before the NaN, want 4", l.Steps)
	}
}

// A NaN during the method's extra steps (sleep) names those too.
func TestNaNInSleep(t *testing.T) {
	m := newFakeModel("fake", 1, nil)
	m.nanAt = 3 // first sleep step after task 1 (2 wake steps)
	l := NewLoop("r", m, &recorder{sleep: 2}, sgd{}, testSettings(), 1)
	err := l.Train(Period{Task: &fakeTask{name: "email"}, Steps: 2, Label: "task 1 (email)"})
	if err == nil || !strings.Contains(err.Error(), "step 1 of the method's extra training after task 1 (email): NaN loss") {
		t.Errorf("error %v", err)
	}
}

func TestScheduleRate(t *testing.T) {
	s := Settings{LR: 1, MinLR: 0.1, Warmup: 2, Schedule: Cosine}
	// Warm-up 0.5, 1; then the cosine over steps 2..6: halfway at 4.
	got := []float64{s.Rate(0, 6), s.Rate(1, 6), s.Rate(2, 6), s.Rate(4, 6), s.Rate(6, 6)}
	want := []float64{0.5, 1, 1, 0.55, 0.1}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("cosine rate %d = %v, want %v", i, got[i], want[i])
		}
	}
	s.Schedule = Constant
	if r0, r := s.Rate(0, 6), s.Rate(5, 6); r0 != 0.5 || r != 1 {
		t.Errorf("constant rates %v, %v; want 0.5, 1", r0, r)
	}
}

// The sequence protocol's rows: before training, after each task, after
// the next day; training a later task moves the fake model away from an
// earlier one, so its accuracy falls.
func TestRunSequenceRows(t *testing.T) {
	m := newFakeModel("fake", 1, nil)
	l := NewLoop("r", m, &recorder{}, sgd{}, testSettings(), 1)
	ts := []Task{&fakeTask{name: "a", idx: 0}, &fakeTask{name: "b", idx: 1}}
	res, err := RunSequence(l, ts, &fakeTask{name: "prose", idx: 2}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.R) != 4 || !res.NextDay || len(res.Loss) != 4 {
		t.Fatalf("R has %d rows (next day %t), want 4", len(res.R), res.NextDay)
	}
	if !(res.R[1][0] == 1 && res.R[2][0] < 1 && res.R[2][1] == 1) {
		t.Errorf("R = %v: want task a learned after row 1, forgotten in row 2, task b learned", res.R)
	}
}

// The dormancy day loop trains the base task, scores day 0 before the
// base task's EndTask (before any sleep), then runs one period per day on
// the interfering domains in rotation, without warm-up, and runs EndTask
// every night, with StepsPerTask = day steps.
func TestDormancyNights(t *testing.T) {
	ev := &events{}
	m := newFakeModel("fake", 1, ev)
	l := NewLoop("r", m, &recorder{ev: ev}, sgd{}, testSettings(), 1)
	base := &fakeTask{name: "speech", idx: 0}
	others := []Task{&fakeTask{name: "email", idx: 1}, &fakeTask{name: "prose", idx: 2}}
	res, err := RunDormancy(l, base, others, 5, 5, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Acc) != 6 || len(res.Loss) != 6 || !slices.Equal(res.Days, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("curves %+v, want 6 points (day 0..5)", res)
	}
	var nights []string
	for _, e := range ev.log {
		if strings.HasPrefix(e, "end:") || strings.HasPrefix(e, "begin:") || e == "eval" && len(nights) > 0 && nights[len(nights)-1] != "eval" {
			nights = append(nights, e)
		}
	}
	want := []string{
		"begin:speech tasks=speech steps=5", "eval", "end:speech",
		"begin:email tasks=speech,email steps=2", "end:email", "eval",
		"begin:prose tasks=speech,email,prose steps=2", "end:prose", "eval",
		"begin:email tasks=speech,email,prose steps=2", "end:email", "eval",
		"begin:prose tasks=speech,email,prose steps=2", "end:prose", "eval",
		"begin:email tasks=speech,email,prose steps=2", "end:email", "eval",
	}
	if diff := cmp.Diff(want, nights); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
	if l.Steps != 5+5*2 {
		t.Errorf("%d steps, want 15", l.Steps)
	}
	if len(l.Periods) != 6 || l.Periods[1].WakeSteps != 2 || l.Periods[0].WakeSteps != 5 {
		t.Errorf("periods %+v, want 6 (base 5 steps, days 2)", l.Periods)
	}
}

// lrOpt records the learning rate of every step.
type lrOpt struct{ lrs []float64 }

func (o *lrOpt) Step(p, g *models.Params, lr float64) { o.lrs = append(o.lrs, lr) }

// Dormancy days start at the full rate: only the base task warms up.
func TestDormancyDaysSkipWarmup(t *testing.T) {
	set := testSettings()
	set.Warmup = 4
	opt := &lrOpt{}
	l := NewLoop("r", newFakeModel("fake", 1, nil), &recorder{}, opt, set, 1)
	base := &fakeTask{name: "speech", idx: 0}
	if _, err := RunDormancy(l, base, []Task{&fakeTask{name: "email", idx: 1}}, 5, 2, 3, 1); err != nil {
		t.Fatal(err)
	}
	// Base: 5 steps, warm-up 4: 0.3·1/4 = 0.075 first. Days: 3 steps each
	// from the full 0.3 along the cosine.
	if len(opt.lrs) != 11 || math.Abs(opt.lrs[0]-0.075) > 1e-12 || math.Abs(opt.lrs[5]-0.3) > 1e-12 || math.Abs(opt.lrs[8]-0.3) > 1e-12 {
		t.Errorf("rates %v: want the base task to start at 0.075 and each day at 0.3", opt.lrs)
	}
}

// Compression evaluates the model as is, pruned and quantised, and leaves
// its parameters unchanged.
func TestRunCompressionRestores(t *testing.T) {
	m := newFakeModel("fake", 1, nil)
	l := NewLoop("r", m, &recorder{}, sgd{}, testSettings(), 1)
	ts := []Task{&fakeTask{name: "a", idx: 0}}
	if err := l.Train(Period{Task: ts[0], Steps: 30, Label: "task 1 (a)"}); err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), m.p.Data...)
	c, share, err := RunCompression(l, ts, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, m.p.Data); diff != "" {
		t.Errorf("parameters changed:\n%s", diff)
	}
	if len(c) != 5 || c[NoCompression][0] != 1 {
		t.Errorf("compression = %v", c)
	}
	// The fake model's tensors: see newFakeModel; every transform
	// reports the share of parameters it touches, in (0, 1].
	for _, tr := range []string{Prune30, Int4, Prune30All, Int4All} {
		if s := share[tr]; !(s > 0 && s <= 1) {
			t.Errorf("share[%s] = %v", tr, s)
		}
	}
	if share[Prune30All] < share[Prune30] {
		t.Errorf("embeddings-included share %v below matrices-only %v", share[Prune30All], share[Prune30])
	}
	// The trained model scores 1 as is; pruning zeroes one weight of w
	// (floor(0.3·6)), which cannot raise the score of a perfect model.
	if c[Prune30][0] > c[NoCompression][0] {
		t.Errorf("pruned accuracy %v above unpruned %v", c[Prune30][0], c[NoCompression][0])
	}
}

func TestAccForgetting(t *testing.T) {
	// Three tasks, rows 0..3 (hand computed):
	// ACC = (0.5+0.6+0.9)/3 = 2/3
	// f_1 = max(0.9, 0.7) − 0.5 = 0.4; f_2 = 0.8 − 0.6 = 0.2; F = 0.3
	R := [][]float64{
		{0.1, 0.1, 0.1},
		{0.9, 0.2, 0.1},
		{0.7, 0.8, 0.2},
		{0.5, 0.6, 0.9},
	}
	acc, f, err := AccForgetting(R)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(acc-2.0/3) > 1e-12 || math.Abs(f-0.3) > 1e-12 {
		t.Errorf("ACC, F = %v, %v; want 0.6667, 0.3", acc, f)
	}
	if _, _, err := AccForgetting(R[:3]); err == nil {
		t.Error("no error for a matrix missing its last row")
	}
}

// With evalEvery 3, seven days are scored at days 0, 3, 6 and 7 (the
// last), and the base task is trained and slept on every day regardless.
func TestDormancyEvalEvery(t *testing.T) {
	ev := &events{}
	l := NewLoop("r", newFakeModel("fake", 1, ev), &recorder{ev: ev}, sgd{}, testSettings(), 1)
	res, err := RunDormancy(l, &fakeTask{name: "speech", idx: 0}, []Task{&fakeTask{name: "email", idx: 1}}, 5, 7, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Days, []int{0, 3, 6, 7}) || len(res.Acc) != 4 || len(res.Loss) != 4 {
		t.Errorf("scored days %v (%d acc, %d loss), want [0 3 6 7]", res.Days, len(res.Acc), len(res.Loss))
	}
	if len(l.Periods) != 8 {
		t.Errorf("%d periods, want 8 (base + 7 days)", len(l.Periods))
	}
}
