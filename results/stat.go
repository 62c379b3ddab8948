package results

import (
	"encoding/json"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Stat is one metric aggregated over runs (seeds, and task orders where
// several are run): the mean and the half-width of its 95% interval.
type Stat struct {
	// Mean over the defined values; NaN when there are none.
	Mean float64
	// CI is the half-width of the 95% Student-t interval (n−1 degrees of
	// freedom): the interval is Mean ± CI. NaN when N < 2.
	CI float64
	// N counts the defined values.
	N int
	// Undefined counts the values that were NaN and left out.
	Undefined int
}

// None is a Stat with no data.
func None() Stat { return Stat{Mean: math.NaN(), CI: math.NaN()} }

// Aggregate returns the mean of the non-NaN values of xs and its 95%
// interval, mean ± t(0.975, n−1) · s / √n with s the sample standard
// deviation. NaN values are counted in Undefined and left out.
func Aggregate(xs []float64) Stat {
	vals := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			vals = append(vals, x)
		}
	}
	s := None()
	s.N = len(vals)
	s.Undefined = len(xs) - len(vals)
	switch {
	case s.N == 0:
	case s.N == 1:
		s.Mean = vals[0]
	default:
		mean, sd := stat.MeanStdDev(vals, nil)
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(s.N - 1)}.Quantile(0.975)
		s.Mean = mean
		s.CI = t * sd / math.Sqrt(float64(s.N))
	}
	return s
}

// Defined reports whether the Stat has a mean.
func (s Stat) Defined() bool { return s.N > 0 && !math.IsNaN(s.Mean) }

// Cell formats the Stat for a table: "31.2 ± 4.1 (n=3)", "31.2 (n=1)"
// without an interval, "n/a (n=0, 3 undefined)" when every value was
// undefined, and "—" when there is no data. sign forces a leading + on
// positive means.
func (s Stat) Cell(sign bool) string { return s.CellPrec(sign, 1) }

// CellPrec is Cell with prec decimals (nats need more than percentages).
func (s Stat) CellPrec(sign bool, prec int) string {
	if !s.Defined() {
		if s.Undefined > 0 {
			return fmt.Sprintf("n/a (%d undefined)", s.Undefined)
		}
		return "—"
	}
	f := "%.*f"
	if sign {
		f = "%+.*f"
	}
	out := fmt.Sprintf(f, prec, s.Mean)
	if !math.IsNaN(s.CI) {
		out += fmt.Sprintf(" ± %.*f", prec, s.CI)
	}
	out += fmt.Sprintf(" (n=%d", s.N)
	if s.Undefined > 0 {
		out += fmt.Sprintf(", %d n/a", s.Undefined)
	}
	return out + ")"
}

// statJSON is Stat as written to JSON, where NaN is null.
type statJSON struct {
	Mean      *float64 `json:"mean"`
	CI        *float64 `json:"ci"`
	N         int      `json:"n"`
	Undefined int      `json:"undefined,omitempty"`
}

func nullable(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func fromNullable(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes a Stat with null for an undefined mean or interval.
func (s Stat) MarshalJSON() ([]byte, error) {
	return json.Marshal(statJSON{Mean: nullable(s.Mean), CI: nullable(s.CI), N: s.N, Undefined: s.Undefined})
}

// UnmarshalJSON reads a Stat written by MarshalJSON.
func (s *Stat) UnmarshalJSON(b []byte) error {
	var j statJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Stat{Mean: fromNullable(j.Mean), CI: fromNullable(j.CI), N: j.N, Undefined: j.Undefined}
	if s.N < 0 || s.Undefined < 0 {
		return fmt.Errorf("negative count in %s", b)
	}
	if s.N > 0 && math.IsNaN(s.Mean) {
		return fmt.Errorf("n=%d but mean is null in %s", s.N, b)
	}
	return nil
}
