package models

import "math"

// Elementwise kernels with an AVX2+FMA path (vec_amd64.s) for the whole
// multiples of 8 and scalar Go for the rest. Each element is computed by
// one path chosen from its index alone, so results are deterministic on
// a machine; callers that split work among goroutines cut at multiples
// of 8 so that the split does not move elements between paths.

// expShift sets dst[i] = e^(src[i]−shift) and returns Σ dst[i]; dst may
// be src.
func expShift(dst, src []float32, shift float32) float32 {
	n := len(src)
	dst = dst[:n]
	var s float32
	k := 0
	if haveVec && n >= 8 {
		k = n &^ 7
		s = vexpShift(&dst[0], &src[0], k, shift)
	}
	for i := k; i < n; i++ {
		e := expf(src[i] - shift)
		dst[i] = e
		s += e
	}
	return s
}

// maxOf returns the largest element of the non-empty x.
func maxOf(x []float32) float32 {
	n := len(x)
	k := 0
	mx := x[0]
	if haveVec && n >= 8 {
		k = n &^ 7
		mx = vmax(&x[0], k)
	}
	for _, v := range x[k:] {
		mx = max(mx, v)
	}
	return mx
}

// scaleBy multiplies x by k.
func scaleBy(x []float32, k float32) {
	n := len(x)
	i := 0
	if haveVec && n >= 8 {
		i = n &^ 7
		vscale(&x[0], i, k)
	}
	for ; i < n; i++ {
		x[i] *= k
	}
}

// gelu sets sig = σ(2u) and out = x·sig, u = √(2/π)(x + 0.044715x³): the
// tanh approximation of GELU, ½x(1 + tanh u).
func gelu(out, sig, in []float32) {
	n := len(in)
	out, sig = out[:n], sig[:n]
	i := 0
	if haveVec && n >= 8 {
		i = n &^ 7
		vgelu(&out[0], &sig[0], &in[0], i)
	}
	for ; i < n; i++ {
		x := in[i]
		s := 1 / (1 + expf(-2*x*(geluC+geluC*geluA*x*x)))
		sig[i], out[i] = s, x*s
	}
}

// geluBack multiplies d by gelu′(in), given sig from gelu:
// gelu′(x) = s + x·s·(1−s)·2√(2/π)(1 + 3·0.044715x²).
func geluBack(d, in, sig []float32) {
	n := len(in)
	d, sig = d[:n], sig[:n]
	i := 0
	if haveVec && n >= 8 {
		i = n &^ 7
		vgeluBack(&d[0], &in[0], &sig[0], i)
	}
	for ; i < n; i++ {
		x, s := in[i], sig[i]
		d[i] *= s + x*s*(1-s)*(2*geluC)*(1+3*geluA*x*x)
	}
}

// adamw applies one AdamW update to x with gradient g and moments m, v;
// c = {β₁, 1−β₁, β₂, 1−β₂, keep, step, 1/√bc₂, ε} (see AdamW.Step).
func adamw(x, g, m, v []float32, c *[8]float32) {
	n := len(x)
	g, m, v = g[:n], m[:n], v[:n]
	i := 0
	if haveVec && n >= 8 {
		i = n &^ 7
		vadamw(&x[0], &g[0], &m[0], &v[0], i, c)
	}
	b1, nb1, b2, nb2, keep, step, invs, eps := c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
	for ; i < n; i++ {
		gi := g[i]
		mi := b1*m[i] + nb1*gi
		vi := b2*v[i] + nb2*(gi*gi)
		m[i], v[i] = mi, vi
		x[i] = keep*x[i] - step*(mi/(float32(math.Sqrt(float64(vi)))*invs+eps))
	}
}
