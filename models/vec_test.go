package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The vector kernels against float64 formulas, for lengths that exercise
// both the 8-wide path and the scalar tail.
func TestVecKernels(t *testing.T) {
	t.Logf("vector kernels in use: %v", haveVec)
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 7, 8, 9, 16, 31, 100} {
		x := randVec(r, n, 4)
		x[0] = -200 // clamped
		if n > 2 {
			x[2] = 95
		}
		// expShift
		dst := make([]float32, n)
		s := expShift(dst, x, 1.5)
		var ws float64
		for i, v := range x {
			w := math.Exp(math.Min(math.Max(float64(v-1.5), -87), 88))
			ws += float64(dst[i])
			if math.Abs(float64(dst[i])-w) > 3e-7*w {
				t.Errorf("n=%d expShift[%d] = %g, want %g", n, i, dst[i], w)
			}
		}
		if math.Abs(float64(s)-ws) > 1e-6*ws {
			t.Errorf("n=%d expShift sum %g, want %g", n, s, ws)
		}
		// maxOf, scaleBy
		mx := x[0]
		for _, v := range x {
			mx = max(mx, v)
		}
		if got := maxOf(x); got != mx {
			t.Errorf("n=%d maxOf = %g, want %g", n, got, mx)
		}
		y := append([]float32(nil), x...)
		scaleBy(y, 0.3)
		for i := range y {
			if y[i] != x[i]*0.3 {
				t.Errorf("n=%d scaleBy[%d] = %g, want %g", n, i, y[i], x[i]*0.3)
			}
		}
		// gelu, geluBack
		out, sig := make([]float32, n), make([]float32, n)
		gelu(out, sig, x)
		d := randVec(r, n, 1)
		d0 := append([]float32(nil), d...)
		geluBack(d, x, sig)
		for i, v := range x {
			xv := float64(v)
			w := refGelu(xv)
			if math.Abs(float64(out[i])-w) > 3e-7*math.Max(1, math.Abs(w)) {
				t.Errorf("n=%d gelu(%g) = %g, want %g", n, v, out[i], w)
			}
			h := 1e-4 * math.Max(1, math.Abs(xv))
			dw := float64(d0[i]) * (refGelu(xv+h) - refGelu(xv-h)) / (2 * h)
			if math.Abs(float64(d[i])-dw) > 1e-5*math.Max(1, math.Abs(dw)) {
				t.Errorf("n=%d gelu'(%g)·d = %g, want %g", n, v, d[i], dw)
			}
		}
		// adamw
		p, g := randVec(r, n, 1), randVec(r, n, 1)
		m, v := randVec(r, n, 0.1), randVec(r, n, 0.1)
		for i := range v {
			v[i] *= v[i]
		}
		P, G, M, V := f64(p), f64(g), f64(m), f64(v)
		c := [8]float32{0.9, 0.1, 0.999, 0.001, 0.99, 0.01, 1.3, 1e-8}
		adamw(p, g, m, v, &c)
		for i := range P {
			mi := 0.9*M[i] + 0.1*G[i]
			vi := 0.999*V[i] + 0.001*G[i]*G[i]
			want := 0.99*P[i] - 0.01*mi/(math.Sqrt(vi)*1.3+1e-8)
			if math.Abs(float64(m[i])-mi) > 1e-6 || math.Abs(float64(v[i])-vi) > 1e-6 || math.Abs(float64(p[i])-want) > 1e-6 {
				t.Errorf("n=%d adamw[%d]: x %g m %g v %g, want %g %g %g", n, i, p[i], m[i], v[i], want, mi, vi)
			}
		}
	}
}

// BenchmarkVec times the elementwise kernels on 16K floats (in cache)
// and reports ns per element; copy is the yardstick.
func BenchmarkVec(b *testing.B) {
	const n = 1 << 14
	x, y, z := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%100)/25 - 2
	}
	for _, k := range []struct {
		name string
		f    func()
	}{
		{"copy", func() { copy(y, x) }},
		{"expShift", func() { expShift(y, x, 1) }},
		{"gelu", func() { gelu(y, z, x) }},
		{"geluBack", func() { geluBack(y, x, z) }},
		{"xent", func() { copy(y, x); xent(y, 3, 1, true) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				k.f()
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*n), "ns/elt")
		})
	}
}
