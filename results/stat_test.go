package results

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAggregateByHand(t *testing.T) {
	// {1, 2, 3}: mean 2, s = 1, t(0.975, 2) = 4.302652729911275,
	// CI = 4.302652729911275 / √3 = 2.484137…
	s := Aggregate([]float64{1, 2, 3})
	if s.N != 3 || s.Undefined != 0 || !near(s.Mean, 2) || math.Abs(s.CI-2.4841377) > 1e-6 {
		t.Errorf("Aggregate(1,2,3) = %+v; want mean 2, CI 2.4841377, n 3", s)
	}
	// {2, 4}: mean 3, s = √2, t(0.975, 1) = 12.706204736…, CI = 12.7062047 · √2/√2.
	s = Aggregate([]float64{2, 4})
	if s.N != 2 || !near(s.Mean, 3) || math.Abs(s.CI-12.7062047) > 1e-6 {
		t.Errorf("Aggregate(2,4) = %+v; want mean 3, CI 12.7062047", s)
	}
	// {10, 12, 14, 16, NaN}: NaN left out and counted; mean 13,
	// s = √(20/3) = 2.5819889, t(0.975, 3) = 3.1824463, CI = 3.1824463 · 2.5819889 / 2 = 4.1085205.
	s = Aggregate([]float64{10, 12, 14, 16, math.NaN()})
	if s.N != 4 || s.Undefined != 1 || !near(s.Mean, 13) || math.Abs(s.CI-4.1085205) > 1e-6 {
		t.Errorf("Aggregate with NaN = %+v; want mean 13, CI 4.1085205, n 4, 1 undefined", s)
	}
}

func TestAggregateSmall(t *testing.T) {
	s := Aggregate([]float64{7})
	if s.N != 1 || s.Mean != 7 || !math.IsNaN(s.CI) {
		t.Errorf("n=1: %+v; want mean 7 and no interval", s)
	}
	if got := s.Cell(false); got != "7.0 (n=1)" {
		t.Errorf("n=1 cell %q", got)
	}
	s = Aggregate(nil)
	if s.Defined() || s.N != 0 || s.Cell(false) != "—" {
		t.Errorf("no data: %+v %q", s, s.Cell(false))
	}
	s = Aggregate([]float64{math.NaN(), math.NaN()})
	if s.Defined() || s.Undefined != 2 || s.Cell(false) != "n/a (2 undefined)" {
		t.Errorf("all undefined: %+v %q", s, s.Cell(false))
	}
}

func TestStatCell(t *testing.T) {
	s := Stat{Mean: 31.24, CI: 4.06, N: 3}
	if got := s.Cell(false); got != "31.2 ± 4.1 (n=3)" {
		t.Errorf("cell %q", got)
	}
	s.Undefined = 1
	if got := s.Cell(true); got != "+31.2 ± 4.1 (n=3, 1 n/a)" {
		t.Errorf("signed cell %q", got)
	}
}

func TestStatJSON(t *testing.T) {
	for _, s := range []Stat{Aggregate([]float64{1, 2, 3}), Aggregate([]float64{5}), None(), Aggregate([]float64{math.NaN()})} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Stat
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
		if !same(back.Mean, s.Mean) || !same(back.CI, s.CI) || back.N != s.N || back.Undefined != s.Undefined {
			t.Errorf("round trip %+v → %s → %+v", s, b, back)
		}
	}
	if b, _ := json.Marshal(None()); string(b) != `{"mean":null,"ci":null,"n":0}` {
		t.Errorf("no data as JSON: %s", b)
	}
	var s Stat
	if err := json.Unmarshal([]byte(`{"mean":null,"ci":null,"n":2}`), &s); err == nil {
		t.Error("n=2 with a null mean accepted")
	}
}
