package methods

import (
	"math"
	"testing"
)

// TestAGEMProject checks the projection by hand: g = (1, −2, 0),
// r = (0, 1, 1): g·r = −2 < 0, r·r = 2, so g − (−2/2)·r = (1, −1, 1),
// which is orthogonal to r; a gradient that agrees with r is left alone.
func TestAGEMProject(t *testing.T) {
	g := []float32{1, -2, 0}
	r := []float32{0, 1, 1}
	if !agemProject(g, r) {
		t.Fatal("g·r < 0 but no projection")
	}
	want := []float32{1, -1, 1}
	for i := range g {
		if math.Abs(float64(g[i]-want[i])) > 1e-7 {
			t.Errorf("projected g = %v, want %v", g, want)
			break
		}
	}
	keep := []float32{1, 2, 0}
	if agemProject(keep, r) || keep[1] != 2 {
		t.Errorf("g·r > 0: projected anyway, g = %v", keep)
	}
}
