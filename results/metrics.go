package results

import (
	"errors"
	"fmt"
	"math"
)

// ErrUndefined marks a metric that has no value for the data given (for
// example BWT with a single task). Functions that return it also return
// NaN, and the wrapping error says why.
var ErrUndefined = errors.New("undefined")

// undefined returns NaN and an error wrapping ErrUndefined.
func undefined(format string, args ...any) (float64, error) {
	return math.NaN(), fmt.Errorf("%w: %s", ErrUndefined, fmt.Sprintf(format, args...))
}

// shape checks an accuracy matrix and returns T, its number of tasks
// (columns), and final, the index of its last row: T when R holds rows
// 0..T, T+1 when it also holds the next-day row.
func shape(R [][]float64) (T, final int, err error) {
	if len(R) == 0 || len(R[0]) == 0 {
		return 0, 0, errors.New("accuracy matrix is empty")
	}
	T = len(R[0])
	for i, row := range R {
		if len(row) != T {
			return 0, 0, fmt.Errorf("accuracy matrix row %d has %d columns, want %d", i, len(row), T)
		}
	}
	if len(R) != T+1 && len(R) != T+2 {
		return 0, 0, fmt.Errorf("accuracy matrix has %d rows for %d tasks, want %d (rows 0..T) or %d (with the next-day row)", len(R), T, T+1, T+2)
	}
	return T, len(R) - 1, nil
}

// Below, rows are numbered as in the definitions (row i = after training
// task i, row 0 = before training) and columns from 0, so that the
// 1-based task j is column j-1 and R[j][j-1] is the accuracy on task j
// right after training it.

// ACC is the average accuracy after the last task: (1/T) Σ_j R[T][j].
func ACC(R [][]float64) (float64, error) {
	T, _, err := shape(R)
	if err != nil {
		return math.NaN(), err
	}
	s := 0.0
	for c := range T {
		s += R[T][c]
	}
	return s / float64(T), nil
}

// BWT is backward transfer: (1/(T−1)) Σ_{i<T} (R[T][i] − R[i][i]).
// Negative values mean forgetting. Undefined for T = 1.
func BWT(R [][]float64) (float64, error) {
	T, _, err := shape(R)
	if err != nil {
		return math.NaN(), err
	}
	if T < 2 {
		return undefined("BWT needs at least 2 tasks, have %d", T)
	}
	s := 0.0
	for c := range T - 1 {
		s += R[T][c] - R[c+1][c]
	}
	return s / float64(T-1), nil
}

// FWT is forward transfer: (1/(T−1)) Σ_{i≥2} (R[i−1][i] − b_i) with
// b_i = R[0][i], the accuracy on task i before it is trained, compared
// with its accuracy before any training. Undefined for T = 1.
func FWT(R [][]float64) (float64, error) {
	T, _, err := shape(R)
	if err != nil {
		return math.NaN(), err
	}
	if T < 2 {
		return undefined("FWT needs at least 2 tasks, have %d", T)
	}
	s := 0.0
	for c := 1; c < T; c++ {
		s += R[c][c] - R[0][c]
	}
	return s / float64(T-1), nil
}

// Forgetting is Chaudhry et al. (2018)'s forgetting: for each task j < T,
// f_j = max_{l∈[j,T−1]} R[l][j] − R[T][j], and F = the mean of f_j. It
// returns the f_j (T−1 values) and F. A negative f_j (the task improved
// after its best earlier row) keeps its sign. Undefined for T = 1.
func Forgetting(R [][]float64) (perTask []float64, mean float64, err error) {
	T, _, err := shape(R)
	if err != nil {
		return nil, math.NaN(), err
	}
	if T < 2 {
		m, err := undefined("forgetting needs at least 2 tasks, have %d", T)
		return nil, m, err
	}
	perTask = make([]float64, T-1)
	s := 0.0
	for c := range T - 1 {
		peak := math.Inf(-1)
		for l := c + 1; l <= T-1; l++ {
			peak = math.Max(peak, R[l][c])
		}
		perTask[c] = peak - R[T][c]
		s += perTask[c]
	}
	return perTask, s / float64(T-1), nil
}

// Rel is the relative forgetting of each task of one run, in the paper's
// layout.
type Rel struct {
	// Tasks holds (peak_j − final_j) / (peak_j − b_j) × 100 per task, in
	// task order; NaN where undefined.
	Tasks []float64
	// Why gives, per task, the reason the value is undefined ("" where it
	// is defined).
	Why []string
	// Mean is the mean over the defined tasks; NaN when none is defined.
	Mean float64
	// Defined and Excluded count the tasks in and out of Mean.
	Defined, Excluded int
}

// MinRelGain is the least gain of a task's accuracy over its level before
// training (peak − b, a fraction: 0.01 = one percentage point) for which
// RelativeForgetting is defined.
const MinRelGain = 0.01

// RelativeForgetting computes the paper-layout relative forgetting of
// each task: (peak_j − final_j) / (peak_j − b_j) × 100, where b_j =
// R[0][j], final is the last row of R (the next-day row when present),
// and peak_j is the maximum of R[l][j] over rows l = j..final. 0% means
// nothing was lost since the peak; 100% means back to the level before
// training; above 100% means below it.
//
// A task's value is undefined (NaN, with a reason in Why, and left out
// of Mean) when peak_j − b_j < MinRelGain — the task was never learned
// clearly above its initial level, so a ratio with that gain as its
// denominator would measure noise — and for the last task when R has no
// next-day row, since no learning came after it.
func RelativeForgetting(R [][]float64) (Rel, error) {
	T, final, err := shape(R)
	if err != nil {
		return Rel{Mean: math.NaN()}, err
	}
	rel := Rel{Tasks: make([]float64, T), Why: make([]string, T)}
	s := 0.0
	for c := range T {
		b := R[0][c]
		peak := math.Inf(-1)
		for l := c + 1; l <= final; l++ {
			peak = math.Max(peak, R[l][c])
		}
		switch {
		case final == c+1:
			rel.Tasks[c] = math.NaN()
			rel.Why[c] = fmt.Sprintf("task %d: no learning after it (no next-day row)", c+1)
		case peak-b < MinRelGain:
			rel.Tasks[c] = math.NaN()
			rel.Why[c] = fmt.Sprintf("task %d: gain over its initial level %.4g below the minimum %.4g (peak %.4g, initial %.4g)", c+1, peak-b, MinRelGain, peak, b)
		default:
			rel.Tasks[c] = (peak - R[final][c]) / (peak - b) * 100
			s += rel.Tasks[c]
			rel.Defined++
		}
	}
	rel.Excluded = T - rel.Defined
	rel.Mean = math.NaN()
	if rel.Defined > 0 {
		rel.Mean = s / float64(rel.Defined)
	}
	return rel, nil
}

// Retention is the dormancy protocol's retention in percent: the
// accuracy on the base task on the last day over that on day 0, × 100.
// days[0] is day 0; the last element is day 30 in the paper's protocol.
func Retention(days []float64) (float64, error) {
	if len(days) < 2 {
		return math.NaN(), fmt.Errorf("retention needs day 0 and a later day, have %d days", len(days))
	}
	if days[0] <= 0 {
		return undefined("retention: accuracy at day 0 is %v", days[0])
	}
	return days[len(days)-1] / days[0] * 100, nil
}

// Improvement is the paper's improvement formula, in percent:
// (sleep − noSleep) / noSleep × 100. Undefined when noSleep is 0.
func Improvement(sleep, noSleep float64) (float64, error) {
	if math.IsNaN(sleep) || math.IsNaN(noSleep) {
		return undefined("improvement of an undefined value")
	}
	if noSleep == 0 {
		return undefined("improvement over a no-sleep value of 0")
	}
	return (sleep - noSleep) / noSleep * 100, nil
}

// The same metrics on held-out loss L (nats per target, laid out as R:
// L[i][j] is the loss on task j after training task i). Loss falls as a
// task is learned and rises as it is forgotten, and stays informative
// where accuracy sits near the level of the most frequent token.

// LossForgetting is forgetting in nats per target: for each task j, the
// rise of its loss from the lowest it reached once learned to the last
// row of L, L[final][j] − min_{l ∈ [j, final−1]} L[l][j] (rows 1-based
// as above; final is the next-day row when present). When last is false
// only rows 0..T are used (Chaudhry's definition on loss, for tasks
// j < T); when true, the last row of L, so that with a next-day row every
// task, the last included, has learning after it. Positive values are
// forgetting. It returns the per-task values (NaN where undefined) and
// their mean over the defined tasks.
func LossForgetting(L [][]float64, last bool) (perTask []float64, mean float64, err error) {
	T, final, err := shape(L)
	if err != nil {
		return nil, math.NaN(), err
	}
	if !last {
		final = T
	}
	perTask = make([]float64, T)
	s, n := 0.0, 0
	for c := range T {
		if c+1 >= final { // no learning after task c+1
			perTask[c] = math.NaN()
			continue
		}
		low := math.Inf(1)
		for l := c + 1; l < final; l++ {
			low = math.Min(low, L[l][c])
		}
		perTask[c] = L[final][c] - low
		s += perTask[c]
		n++
	}
	if n == 0 {
		m, err := undefined("loss forgetting needs a task with learning after it")
		return perTask, m, err
	}
	return perTask, s / float64(n), nil
}

// LossBWT is backward transfer in nats per target, signed like BWT (a
// negative value is forgetting): (1/(T−1)) Σ_{i<T} (L[i][i] − L[T][i]).
func LossBWT(L [][]float64) (float64, error) {
	T, _, err := shape(L)
	if err != nil {
		return math.NaN(), err
	}
	if T < 2 {
		return undefined("BWT needs at least 2 tasks, have %d", T)
	}
	s := 0.0
	for i := 1; i < T; i++ {
		s += L[i][i-1] - L[T][i-1]
	}
	return s / float64(T-1), nil
}

// LossRetention is retention as a perplexity ratio, in percent: the
// base task's perplexity at day 0 over that at the last day, × 100,
// exp(loss[0] − loss[last]) × 100. 100 = nothing lost; lower = the
// base task became harder to predict.
func LossRetention(loss []float64) (float64, error) {
	if len(loss) < 2 {
		return math.NaN(), fmt.Errorf("retention needs day 0 and a later day, have %d days", len(loss))
	}
	return math.Exp(loss[0]-loss[len(loss)-1]) * 100, nil
}
