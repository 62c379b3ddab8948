package methods

import (
	"strconv"
	"testing"
)

func TestSleepSteps(t *testing.T) {
	cfg := TrainConfig{BatchSize: 32, StepsPerTask: 200, LR: 1e-3}
	if n := SleepSteps(cfg, 10, 0.1); n != 200 {
		t.Errorf("default budget %d steps, want 10 × 0.1 × 200 = 200", n)
	}
	if n := SleepSteps(cfg, 10, 0.05); n != 100 {
		t.Errorf("dormancy budget %d steps, want half the day's 200 = 100", n)
	}
	if n := SleepSteps(cfg, 0, 0.1); n != 0 {
		t.Errorf("zero compression gives %d steps", n)
	}
}

// TestNightHoldsReverseAndNoise checks AISP's Night: a night of ratio ×
// daySteps steps, cut into at least two cycles, so that its second cycle
// replays in reverse and its first step has noise above 0.
func TestNightHoldsReverseAndNoise(t *testing.T) {
	info, err := Default.Lookup("aisp")
	if err != nil {
		t.Fatal(err)
	}
	for _, daySteps := range []int{4, 8, 20, 200} {
		cfg, err := info.Night(Config{}, daySteps, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		// compression 10: sleep_fraction 0.5/10 = 0.05, night = 10 × 0.05 ×
		// daySteps = daySteps/2 steps; cycles of min(10, night/2).
		night := daySteps / 2
		wantCycle := min(10, max(1, night/2))
		if cfg["sleep_fraction"] != "0.05" {
			t.Errorf("day %d: sleep_fraction %q, want 0.05", daySteps, cfg["sleep_fraction"])
		}
		cycle := 10
		if v, ok := cfg["cycle_steps"]; ok {
			cycle, _ = strconv.Atoi(v)
		}
		if cycle != wantCycle {
			t.Errorf("day %d: cycle_steps %d, want %d", daySteps, cycle, wantCycle)
		}
		reverse, noisy := 0, 0
		sched := NoiseSchedule{Sigma: 0.1, Steps: night}
		for s := 0; s < night; s++ {
			if reverseCycle(s/cycle, 0.3) {
				reverse++
			}
			if sched.At(s) > 0 {
				noisy++
			}
		}
		if reverse == 0 || noisy == 0 {
			t.Errorf("day %d: night of %d steps has %d reverse and %d noisy steps", daySteps, night, reverse, noisy)
		}
	}
	// An explicit setting is kept.
	cfg, err := info.Night(Config{"cycle_steps": "7", "sleep_fraction": "0.2"}, 4, 0.5)
	if err != nil || cfg["cycle_steps"] != "7" || cfg["sleep_fraction"] != "0.2" {
		t.Errorf("explicit settings: %v %v", cfg, err)
	}
}
