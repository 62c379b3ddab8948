package suite

import (
	"math"
	"slices"
	"testing"
)

// TestRotationMap checks the rotation against cases computed by hand.
func TestRotationMap(t *testing.T) {
	const side = mnistSide
	id := rotationMap(side, 0)
	for j, s := range id {
		if s != j {
			t.Fatalf("0°: pixel %d takes %d", j, s)
		}
	}
	if !slices.Equal(rotationMap(side, 360), id) || !slices.Equal(rotationMap(side, 390), rotationMap(side, 30)) {
		t.Error("angles are not taken modulo 360")
	}
	// 90° counter-clockwise about the centre (14, 14), y pointing down:
	// the output pixel (x, y) samples the input at (27.5 − y, x + 0.5),
	// so it takes input pixel (27 − y, x). The input's top-right corner
	// (27, 0) lands on the output's top-left (0, 0), and input (5, 2)
	// (x, y) on output (2, 22).
	m := rotationMap(side, 90)
	if m[0] != 27 {
		t.Errorf("90°: output (0, 0) takes input %d, want 27 (the top-right corner)", m[0])
	}
	if got := m[22*side+2]; got != 2*side+5 {
		t.Errorf("90°: output (2, 22) takes input %d, want %d (input (5, 2))", got, 2*side+5)
	}
	for j, s := range m {
		if s < 0 {
			t.Fatalf("90°: output %d falls outside the image; a quarter turn of a square maps it onto itself", j)
		}
	}
	// Four quarter turns are the identity, as are two half turns.
	img := make([]uint8, side*side)
	for j := range img {
		img[j] = uint8(j*7 + j/side)
	}
	a, b := make([]uint8, len(img)), make([]uint8, len(img))
	copy(a, img)
	for k := 0; k < 4; k++ {
		rotate(b, a, m)
		a, b = b, a
	}
	if !slices.Equal(a, img) {
		t.Error("four rotations by 90° are not the identity")
	}
	half := rotationMap(side, 180)
	rotate(a, img, half)
	rotate(b, a, half)
	if !slices.Equal(b, img) {
		t.Error("two rotations by 180° are not the identity")
	}
	if a[0] != img[side*side-1] {
		t.Error("180°: the top-left pixel is not the bottom-right one")
	}
	// Any angle: every output pixel whose centre maps inside the image
	// takes the input pixel under the mapped centre (float arithmetic,
	// away from pixel edges), and a digit-like blob near the centre keeps
	// its mass.
	for _, deg := range []float64{12.5, 45, 77.7, 133, 179.9} {
		m := rotationMap(side, deg)
		r := -deg * math.Pi / 180
		cos, sin := math.Cos(r), math.Sin(r)
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				u, v := float64(x)+0.5-14, float64(y)+0.5-14
				xin, yin := cos*u+sin*v+14, -sin*u+cos*v+14
				fx, fy := xin-math.Floor(xin), yin-math.Floor(yin)
				if fx < 1e-3 || fx > 1-1e-3 || fy < 1e-3 || fy > 1-1e-3 {
					continue // on a pixel edge: fixed point decides
				}
				want := -1
				if xin >= 0 && xin < side && yin >= 0 && yin < side {
					want = int(yin)*side + int(xin)
				}
				if got := m[y*side+x]; got != want {
					t.Fatalf("%g°: output (%d, %d) takes %d, want %d", deg, x, y, got, want)
				}
			}
		}
		blob := make([]uint8, side*side)
		var in, out float64
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				if d := math.Hypot(float64(x)-13.5, float64(y)-13.5); d < 9 {
					blob[y*side+x] = uint8(255 - 20*d)
					in += float64(blob[y*side+x])
				}
			}
		}
		rot := make([]uint8, len(blob))
		rotate(rot, blob, m)
		for _, v := range rot {
			out += float64(v)
		}
		if math.Abs(out-in) > 0.05*in {
			t.Errorf("%g°: mass %.0f after rotation, %.0f before", deg, out, in)
		}
	}
}
