package results

import (
	"errors"
	"math"
	"testing"
)

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) < eps }

// threeTasks is a 3-task accuracy matrix with a next-day row; every
// expectation below is worked out by hand in the comments.
var threeTasks = [][]float64{
	{0.10, 0.20, 0.30}, // row 0: before training (b = 0.1, 0.2, 0.3)
	{0.80, 0.25, 0.35}, // after task 1
	{0.60, 0.90, 0.40}, // after task 2
	{0.50, 0.70, 0.85}, // after task 3 (row T)
	{0.40, 0.60, 0.55}, // next day (row T+1)
}

func TestMatrixMetricsByHand(t *testing.T) {
	R := threeTasks
	// ACC = (0.50 + 0.70 + 0.85) / 3 = 2.05 / 3
	if got, err := ACC(R); err != nil || !near(got, 2.05/3) {
		t.Errorf("ACC = %v, %v; want %v", got, err, 2.05/3)
	}
	// BWT = ((0.50 − 0.80) + (0.70 − 0.90)) / 2 = −0.25
	if got, err := BWT(R); err != nil || !near(got, -0.25) {
		t.Errorf("BWT = %v, %v; want -0.25", got, err)
	}
	// FWT = ((R[1][2] − b2) + (R[2][3] − b3)) / 2 = ((0.25 − 0.20) + (0.40 − 0.30)) / 2 = 0.075
	if got, err := FWT(R); err != nil || !near(got, 0.075) {
		t.Errorf("FWT = %v, %v; want 0.075", got, err)
	}
	// f1 = max(0.80, 0.60) − 0.50 = 0.30; f2 = 0.90 − 0.70 = 0.20; F = 0.25
	f, F, err := Forgetting(R)
	if err != nil || len(f) != 2 || !near(f[0], 0.30) || !near(f[1], 0.20) || !near(F, 0.25) {
		t.Errorf("Forgetting = %v, %v, %v; want [0.3 0.2], 0.25", f, F, err)
	}
	// The standard metrics ignore the next-day row: the same without it.
	for name, fn := range map[string]func([][]float64) (float64, error){"ACC": ACC, "BWT": BWT, "FWT": FWT} {
		a, _ := fn(R)
		b, _ := fn(R[:4])
		if a != b {
			t.Errorf("%s changes with the next-day row: %v vs %v", name, a, b)
		}
	}
}

func TestRelativeForgettingByHand(t *testing.T) {
	// With the next-day row (final = row 4):
	// task 1: peak = max(0.8, 0.6, 0.5, 0.4) = 0.8; (0.8 − 0.4) / (0.8 − 0.1) = 0.4/0.7
	// task 2: peak = max(0.9, 0.7, 0.6) = 0.9;      (0.9 − 0.6) / (0.9 − 0.2) = 0.3/0.7
	// task 3: peak = max(0.85, 0.55) = 0.85;         (0.85 − 0.55) / (0.85 − 0.3) = 0.30/0.55
	rel, err := RelativeForgetting(threeTasks)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.4 / 0.7 * 100, 0.3 / 0.7 * 100, 0.30 / 0.55 * 100}
	for j := range want {
		if !near(rel.Tasks[j], want[j]) || rel.Why[j] != "" {
			t.Errorf("task %d: %v (%q), want %v", j+1, rel.Tasks[j], rel.Why[j], want[j])
		}
	}
	if mean := (want[0] + want[1] + want[2]) / 3; !near(rel.Mean, mean) || rel.Defined != 3 || rel.Excluded != 0 {
		t.Errorf("mean %v defined %d excluded %d; want %v, 3, 0", rel.Mean, rel.Defined, rel.Excluded, mean)
	}
	// 57.142857…, 42.857142…, 54.545454… written out as a second check.
	if math.Abs(rel.Tasks[0]-57.142857) > 1e-6 || math.Abs(rel.Tasks[2]-54.545454) > 1e-6 {
		t.Errorf("relative forgetting %v", rel.Tasks)
	}

	// Without the next-day row (final = row 3), the last task has no
	// learning after it: undefined.
	// task 1: (0.8 − 0.5) / 0.7; task 2: (0.9 − 0.7) / 0.7
	rel, err = RelativeForgetting(threeTasks[:4])
	if err != nil {
		t.Fatal(err)
	}
	if !near(rel.Tasks[0], 0.3/0.7*100) || !near(rel.Tasks[1], 0.2/0.7*100) {
		t.Errorf("no next day: %v", rel.Tasks)
	}
	if !math.IsNaN(rel.Tasks[2]) || rel.Why[2] == "" {
		t.Errorf("last task without next day: %v %q, want NaN with a reason", rel.Tasks[2], rel.Why[2])
	}
	if !near(rel.Mean, (0.3+0.2)/0.7/2*100) || rel.Defined != 2 || rel.Excluded != 1 {
		t.Errorf("mean %v defined %d excluded %d", rel.Mean, rel.Defined, rel.Excluded)
	}
}

func TestRelativeForgettingNeverLearned(t *testing.T) {
	R := [][]float64{
		{0.5, 0.2},
		{0.4, 0.2}, // task 1 fell below its initial level while trained
		{0.3, 0.9},
		{0.3, 0.5}, // next day
	}
	rel, err := RelativeForgetting(R)
	if err != nil {
		t.Fatal(err)
	}
	// task 1: peak = 0.4 ≤ b = 0.5 → undefined.
	if !math.IsNaN(rel.Tasks[0]) || rel.Why[0] == "" {
		t.Errorf("task 1 = %v %q, want NaN with a reason", rel.Tasks[0], rel.Why[0])
	}
	// task 2: (0.9 − 0.5) / (0.9 − 0.2) = 0.4/0.7.
	if !near(rel.Tasks[1], 0.4/0.7*100) || !near(rel.Mean, 0.4/0.7*100) || rel.Excluded != 1 {
		t.Errorf("got %+v", rel)
	}
	// peak == b is undefined too (division by zero otherwise).
	R[1][0] = 0.5
	R[2][0], R[3][0] = 0.5, 0.5
	if rel, _ := RelativeForgetting(R); !math.IsNaN(rel.Tasks[0]) {
		t.Errorf("peak == initial: %v, want NaN", rel.Tasks[0])
	}
}

func TestRelativeForgettingBelowInitial(t *testing.T) {
	// Final below the initial level: above 100%. (0.6 − 0.1) / (0.6 − 0.2) = 125%.
	R := [][]float64{{0.2, 0.5}, {0.6, 0.5}, {0.3, 0.8}, {0.1, 0.8}}
	rel, err := RelativeForgetting(R)
	if err != nil {
		t.Fatal(err)
	}
	if !near(rel.Tasks[0], 125) {
		t.Errorf("task 1 = %v, want 125", rel.Tasks[0])
	}
	// task 2: no loss since its peak: 0%.
	if rel.Tasks[1] != 0 {
		t.Errorf("task 2 = %v, want 0", rel.Tasks[1])
	}
}

func TestNegativeForgettingKeepsSign(t *testing.T) {
	R := [][]float64{
		{0.1, 0.1},
		{0.5, 0.1},
		{0.6, 0.7}, // task 1 improved after task 2
	}
	// f1 = 0.5 − 0.6 = −0.1; BWT = 0.6 − 0.5 = +0.1
	f, F, err := Forgetting(R)
	if err != nil || !near(f[0], -0.1) || !near(F, -0.1) {
		t.Errorf("Forgetting = %v, %v, %v; want -0.1", f, F, err)
	}
	if b, _ := BWT(R); !near(b, 0.1) {
		t.Errorf("BWT = %v, want 0.1", b)
	}
	// FWT = R[1][2] − b2 = 0.1 − 0.1 = 0
	if w, _ := FWT(R); !near(w, 0) {
		t.Errorf("FWT = %v, want 0", w)
	}
}

func TestSingleTask(t *testing.T) {
	R := [][]float64{{0.1}, {0.9}}
	if a, err := ACC(R); err != nil || a != 0.9 {
		t.Errorf("ACC = %v, %v; want 0.9", a, err)
	}
	for name, fn := range map[string]func([][]float64) (float64, error){"BWT": BWT, "FWT": FWT} {
		v, err := fn(R)
		if !math.IsNaN(v) || !errors.Is(err, ErrUndefined) {
			t.Errorf("%s on one task = %v, %v; want NaN, ErrUndefined", name, v, err)
		}
	}
	if _, F, err := Forgetting(R); !math.IsNaN(F) || !errors.Is(err, ErrUndefined) {
		t.Errorf("Forgetting on one task = %v, %v", F, err)
	}
	// One task with a next-day row: relative forgetting is defined.
	// (0.9 − 0.5) / (0.9 − 0.1) = 50%.
	rel, err := RelativeForgetting([][]float64{{0.1}, {0.9}, {0.5}})
	if err != nil || !near(rel.Tasks[0], 50) {
		t.Errorf("relative forgetting = %+v, %v; want 50", rel, err)
	}
}

func TestMalformedMatrix(t *testing.T) {
	for name, R := range map[string][][]float64{
		"empty":       nil,
		"no columns":  {{}},
		"ragged":      {{0.1, 0.2}, {0.3}, {0.4, 0.5}},
		"too few":     {{0.1, 0.2}, {0.3, 0.4}},
		"too many":    {{0.1}, {0.2}, {0.3}, {0.4}},
		"no rows > 0": {{0.1, 0.2}},
	} {
		if _, err := ACC(R); err == nil || errors.Is(err, ErrUndefined) {
			t.Errorf("%s: ACC error %v, want a shape error", name, err)
		}
		if _, err := RelativeForgetting(R); err == nil {
			t.Errorf("%s: RelativeForgetting accepted it", name)
		}
	}
}

func TestRetentionAndImprovement(t *testing.T) {
	days := make([]float64, 31)
	for d := range days {
		days[d] = 0.8 - 0.2*float64(d)/30 // 0.8 at day 0 … 0.6 at day 30
	}
	// 0.6 / 0.8 × 100 = 75
	if r, err := Retention(days); err != nil || !near(r, 75) {
		t.Errorf("Retention = %v, %v; want 75", r, err)
	}
	if r, err := Retention([]float64{0, 0.5}); !math.IsNaN(r) || !errors.Is(err, ErrUndefined) {
		t.Errorf("Retention from 0 = %v, %v; want undefined", r, err)
	}
	if _, err := Retention([]float64{0.5}); err == nil {
		t.Error("Retention of one day accepted")
	}
	// (92 − 80) / 80 × 100 = 15
	if v, err := Improvement(92, 80); err != nil || !near(v, 15) {
		t.Errorf("Improvement = %v, %v; want 15", v, err)
	}
	// A loss keeps its sign: (60 − 80) / 80 × 100 = −25
	if v, _ := Improvement(60, 80); !near(v, -25) {
		t.Errorf("Improvement = %v, want -25", v)
	}
	if v, err := Improvement(50, 0); !math.IsNaN(v) || !errors.Is(err, ErrUndefined) {
		t.Errorf("Improvement over 0 = %v, %v; want undefined", v, err)
	}
}

// TestLossMetricsByHand checks the loss metrics on a matrix computed by
// hand: two tasks and a next-day row.
func TestLossMetricsByHand(t *testing.T) {
	L := [][]float64{
		{5.0, 6.0}, // before training
		{3.0, 5.5}, // after task 1
		{3.8, 4.0}, // after task 2
		{4.1, 4.6}, // after the next day
	}
	// Rows 0..T: task 1 rose from its low 3.0 (row 1) to 3.8 (row 2):
	// forgetting 0.8; task 2 has nothing after it within rows 0..T.
	per, mean, err := LossForgetting(L, false)
	if err != nil || math.Abs(per[0]-0.8) > 1e-12 || !math.IsNaN(per[1]) || math.Abs(mean-0.8) > 1e-12 {
		t.Errorf("rows 0..T: %v %v %v, want [0.8 NaN] 0.8", per, mean, err)
	}
	// Last row (next day): task 1 4.1 − min(3.0, 3.8) = 1.1; task 2
	// 4.6 − 4.0 = 0.6; mean 0.85.
	per, mean, err = LossForgetting(L, true)
	if err != nil || math.Abs(per[0]-1.1) > 1e-12 || math.Abs(per[1]-0.6) > 1e-12 || math.Abs(mean-0.85) > 1e-12 {
		t.Errorf("last row: %v %v %v, want [1.1 0.6] 0.85", per, mean, err)
	}
	// BWT: (L[1][0] − L[2][0]) / 1 = 3.0 − 3.8 = −0.8.
	if b, err := LossBWT(L); err != nil || math.Abs(b+0.8) > 1e-12 {
		t.Errorf("LossBWT %v %v, want -0.8", b, err)
	}
	// One task and no next day: nothing after it.
	if _, m, err := LossForgetting([][]float64{{5}, {3}}, true); !errors.Is(err, ErrUndefined) || !math.IsNaN(m) {
		t.Errorf("single task: %v %v, want undefined", m, err)
	}
	// Perplexity ratio: exp(2.0 − 2.5) × 100 = 60.653066.
	if r, err := LossRetention([]float64{2.0, 2.2, 2.5}); err != nil || math.Abs(r-60.65306597) > 1e-6 {
		t.Errorf("LossRetention %v %v, want 60.653066", r, err)
	}
}

// A gain below MinRelGain leaves relative forgetting undefined.
func TestRelativeForgettingMinGain(t *testing.T) {
	R := [][]float64{
		{0.100, 0.20},
		{0.105, 0.20}, // task 1 gained 0.5 points: below the minimum
		{0.100, 0.30},
		{0.100, 0.25},
	}
	rel, err := RelativeForgetting(R)
	if err != nil {
		t.Fatal(err)
	}
	// Task 2: (0.30 − 0.25) / (0.30 − 0.20) × 100 = 50.
	if !math.IsNaN(rel.Tasks[0]) || math.Abs(rel.Tasks[1]-50) > 1e-9 || rel.Excluded != 1 {
		t.Errorf("rel %+v, want [NaN 50] with 1 excluded", rel)
	}
}
