package methods

import (
	"math"
	"testing"
)

func TestNoiseSchedule(t *testing.T) {
	for _, cos := range []bool{false, true} {
		s := NoiseSchedule{Sigma: 0.4, Steps: 11, Cosine: cos}
		if s.At(0) != 0.4 {
			t.Errorf("cosine=%v: σ(0) = %v, want 0.4", cos, s.At(0))
		}
		if s.At(10) != 0 {
			t.Errorf("cosine=%v: σ(last) = %v, want 0", cos, s.At(10))
		}
		if math.Abs(s.At(5)-0.2) > 1e-12 { // both forms pass σ₀/2 halfway
			t.Errorf("cosine=%v: σ(5) = %v, want 0.2", cos, s.At(5))
		}
		for i := 1; i < 11; i++ {
			if s.At(i) > s.At(i-1) {
				t.Errorf("cosine=%v: σ rises at step %d", cos, i)
			}
		}
	}
	lin := NoiseSchedule{Sigma: 1, Steps: 5}
	if lin.At(1) != 0.75 {
		t.Errorf("linear σ(1) of 5 = %v, want 0.75", lin.At(1))
	}
	cos := NoiseSchedule{Sigma: 1, Steps: 5, Cosine: true}
	if want := (1 + math.Cos(math.Pi/4)) / 2; math.Abs(cos.At(1)-want) > 1e-12 {
		t.Errorf("cosine σ(1) of 5 = %v, want %v", cos.At(1), want)
	}
	if (NoiseSchedule{Sigma: 1, Steps: 1}).At(0) != 0 {
		t.Error("a one-step sleep should end (and so start) at σ = 0")
	}
}
