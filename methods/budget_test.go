package methods

import "testing"

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
