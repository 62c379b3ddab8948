package models

import "math"

// The exact GELU, x·Φ(x) with Φ the standard normal CDF, which BERT uses
// (GELUErf). Its forward stores Φ(x) in the sig buffer that the tanh form
// fills with σ(2u), so both forms share the activation buffers and
// gelu′(x) = Φ(x) + x·φ(x) needs only x and that buffer.

const (
	invSqrt2   = 0.7071067811865476 // 1/√2
	invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
)

// geluErf sets sig = Φ(x) and out = x·Φ(x). Φ is computed in float64
// with math.Erf and rounded once, so the float32 result is correctly
// rounded up to one unit.
func geluErf(out, sig, in []float32) {
	out, sig = out[:len(in)], sig[:len(in)]
	for i, x := range in {
		s := float32(0.5 + 0.5*math.Erf(float64(x)*invSqrt2))
		sig[i], out[i] = s, x*s
	}
}

// geluErfBack multiplies d by gelu′(in) = Φ(x) + x·φ(x), given sig = Φ
// from geluErf.
func geluErfBack(d, in, sig []float32) {
	d, sig = d[:len(in)], sig[:len(in)]
	for i, x := range in {
		d[i] *= sig[i] + x*invSqrt2Pi*expf(-0.5*x*x)
	}
}
