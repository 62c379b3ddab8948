package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// This file is a float64 reference of the Transformer, written with plain
// loops and independently of the kernels (GELU in float64 with
// math.Tanh or math.Erf, softmax and cross-entropy with math.Exp), used to check the float32 model's
// outputs and, through central finite differences, its gradients.

func refGelu(v float64) float64 {
	return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
}

// refAct is GELU in the form act: refGelu, or ½x(1 + erf(x/√2)).
func refAct(act Activation, v float64) float64 {
	if act == GELUErf {
		return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
	}
	return refGelu(v)
}

func refLN(x, w, b []float64, eps float64) []float64 {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var v2 float64
	for _, v := range x {
		v2 += (v - m) * (v - m)
	}
	r := 1 / math.Sqrt(v2/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v-m)*r*w[i] + b[i]
	}
	return out
}

// refLinear returns x·Wᵀ + b for W stored [O, len(x)] (b may be nil).
func refLinear(x, W, b []float64, O int) []float64 {
	I := len(x)
	y := make([]float64, O)
	for o := range y {
		s := 0.0
		if b != nil {
			s = b[o]
		}
		for i, v := range x {
			s += W[o*I+i] * v
		}
		y[o] = s
	}
	return y
}

// refXent returns −log softmax(z)[t].
func refXent(z []float64, t int) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v)
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s) - z[t]
}

// refNoise replays the draws of ForwardOptions noise from a generator in
// the model's order: embedding noise row by row, then for each layer one
// seed per (sequence, head), each seeding a PCG drawn in (query, key)
// order over the unmasked logits.
type refNoise struct {
	embed, att float64
	rng        *rand.Rand
	embStd     []float64 // per row: the std fixed at the base parameters
}

// refAttention returns the attention outputs [N][D] for qkv [N][3D]; seeds
// (one per sequence and head, or nil) drive the logit noise of std sigma.
// refAttention is a float64 multi-head attention: slopes (nil for none)
// are the ALiBi slopes of the heads.
func refAttention(qkv [][]float64, B, T, H, D int, lengths []int, causal bool, slopes []float32, sigma float64, seeds []uint64) [][]float64 {
	hs := D / H
	scale := 1 / math.Sqrt(float64(hs))
	out := make([][]float64, B*T)
	for n := range out {
		out[n] = make([]float64, D)
	}
	for b := 0; b < B; b++ {
		L := T
		if lengths != nil {
			L = lengths[b]
		}
		for h := 0; h < H; h++ {
			var r *rand.Rand
			if seeds != nil {
				r = rand.New(rand.NewPCG(seeds[b*H+h], 0x5eed))
			}
			for i := 0; i < L; i++ {
				n := L
				if causal {
					n = min(i+1, L)
				}
				z := make([]float64, n)
				q := qkv[b*T+i][h*hs : (h+1)*hs]
				for j := range z {
					k := qkv[b*T+j][D+h*hs : D+(h+1)*hs]
					for d := range q {
						z[j] += q[d] * k[d]
					}
					z[j] *= scale
					if slopes != nil {
						z[j] -= float64(slopes[h]) * math.Abs(float64(i-j))
					}
					if r != nil {
						z[j] += sigma * float64(float32(r.NormFloat64()))
					}
				}
				mx := math.Inf(-1)
				for _, v := range z {
					mx = math.Max(mx, v)
				}
				s := 0.0
				for j := range z {
					z[j] = math.Exp(z[j] - mx)
					s += z[j]
				}
				for j := range z {
					v := qkv[b*T+j][2*D+h*hs : 2*D+(h+1)*hs]
					for d := range v {
						out[b*T+i][h*hs+d] += z[j] / s * v[d]
					}
				}
			}
		}
	}
	return out
}

// ref is a float64 copy of a Transformer's parameters.
type ref struct {
	c Config
	p *Params
	x []float64
}

func newRef(m *Transformer) *ref {
	r := &ref{c: m.cfg, p: m.params, x: make([]float64, m.params.Len())}
	for i, v := range m.params.Data {
		r.x[i] = float64(v)
	}
	return r
}

func (r *ref) t(name string) []float64 {
	t, ok := r.p.Lookup(name)
	if !ok {
		panic("no tensor " + name)
	}
	return r.x[t.Offset : t.Offset+t.Size()]
}

func (r *ref) has(name string) bool { _, ok := r.p.Lookup(name); return ok }

// loss returns the batch loss Σ w_b·ℓ_b / #targets and the per-target
// cross-entropies in the model's order.
func (r *ref) loss(b *Batch, nz *refNoise) (float64, []float64) {
	c := r.c
	B, T, D, H, F := b.B, b.T, c.DModel, c.Heads, c.DFF
	N := B * T
	eps := 1e-5
	switch {
	case c.Eps > 0:
		eps = float64(c.Eps)
	case c.Arch == Encoder:
		eps = 1e-12
	}
	x := make([][]float64, N)
	wte, wpe := r.t("wte"), r.t("wpe")
	for n := range x {
		x[n] = make([]float64, D)
		id, t := int(b.Inputs[n]), n%T
		for d := range x[n] {
			x[n][d] = wte[id*D+d] + wpe[t*D+d]
			if r.has("wtt") {
				x[n][d] += r.t("wtt")[d]
			}
		}
	}
	if nz != nil && nz.embed > 0 {
		for n := range x {
			for d := range x[n] {
				x[n][d] += nz.embStd[n] * nz.rng.NormFloat64()
			}
		}
	}
	if c.Arch == Encoder {
		for n := range x {
			x[n] = refLN(x[n], r.t("ln_e.weight"), r.t("ln_e.bias"), eps)
		}
	}
	rows := func(f func(v []float64) []float64, in [][]float64) [][]float64 {
		out := make([][]float64, len(in))
		for n, v := range in {
			out[n] = f(v)
		}
		return out
	}
	add := func(a, b [][]float64) [][]float64 {
		out := make([][]float64, len(a))
		for n := range a {
			out[n] = make([]float64, len(a[n]))
			for d := range a[n] {
				out[n][d] = a[n][d] + b[n][d]
			}
		}
		return out
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("h.%d.", l)
		ln := func(k string) func(v []float64) []float64 {
			return func(v []float64) []float64 { return refLN(v, r.t(p+k+".weight"), r.t(p+k+".bias"), eps) }
		}
		lin := func(k string, O int) func(v []float64) []float64 {
			return func(v []float64) []float64 { return refLinear(v, r.t(p+k+".weight"), r.t(p+k+".bias"), O) }
		}
		var seeds []uint64
		sigma := 0.0
		if nz != nil && nz.att > 0 {
			sigma = nz.att
			seeds = make([]uint64, B*H)
			for i := range seeds {
				seeds[i] = nz.rng.Uint64()
			}
		}
		attn := func(v [][]float64) [][]float64 {
			y := refAttention(rows(lin("attn.qkv", 3*D), v), B, T, H, D, b.Lengths, c.Arch == Decoder, c.alibiSlopes(), sigma, seeds)
			return rows(lin("attn.proj", D), y)
		}
		mlp := func(v [][]float64) [][]float64 {
			return rows(func(u []float64) []float64 {
				h := refLinear(u, r.t(p+"mlp.fc.weight"), r.t(p+"mlp.fc.bias"), F)
				for i := range h {
					h[i] = refAct(c.Act, h[i])
				}
				return refLinear(h, r.t(p+"mlp.proj.weight"), r.t(p+"mlp.proj.bias"), D)
			}, v)
		}
		if c.preLN() {
			x = add(x, attn(rows(ln("ln_1"), x)))
			x = add(x, mlp(rows(ln("ln_2"), x)))
		} else {
			x = rows(ln("ln_1"), add(x, attn(x)))
			x = rows(ln("ln_2"), add(x, mlp(x)))
		}
	}
	if c.preLN() {
		x = rows(func(v []float64) []float64 { return refLN(v, r.t("ln_f.weight"), r.t("ln_f.bias"), eps) }, x)
	}
	var ce []float64
	var wsum float64
	weight := func(row int) float64 {
		if b.Weights == nil {
			return 1
		}
		return float64(b.Weights[row])
	}
	if b.Objective == Classify {
		for row := 0; row < B; row++ {
			t := int(b.Targets[row])
			if t < 0 {
				continue
			}
			pos := 0
			if c.Arch == Decoder {
				pos = T - 1
				if b.Lengths != nil {
					pos = b.Lengths[row] - 1
				}
			}
			v := x[row*T+pos]
			if c.Pooler {
				v = refLinear(v, r.t("pooler.weight"), r.t("pooler.bias"), D)
				for i := range v {
					v[i] = math.Tanh(v[i])
				}
			}
			k := 0
			if b.Task != nil {
				k = b.Task[row]
			}
			z := refLinear(v, r.t(fmt.Sprintf("cls.%d.weight", k)), r.t(fmt.Sprintf("cls.%d.bias", k)), c.Classes[k])
			l := refXent(z, t)
			ce = append(ce, l)
			wsum += weight(row) * l
		}
	} else {
		for n, t := range b.Targets {
			if t < 0 {
				continue
			}
			v := x[n]
			var bias []float64
			if c.Arch == Encoder {
				v = refLinear(v, r.t("mlm.dense.weight"), r.t("mlm.dense.bias"), D)
				for i := range v {
					v[i] = refAct(c.Act, v[i])
				}
				v = refLN(v, r.t("mlm.ln.weight"), r.t("mlm.ln.bias"), eps)
				bias = r.t("mlm.bias")
			}
			z := refLinear(v, wte, bias, c.Vocab)
			l := refXent(z, int(t))
			ce = append(ce, l)
			wsum += weight(n/T) * l
		}
	}
	return wsum / float64(len(ce)), ce
}

// gradErr compares analytic gradients a with numerical ones n: it returns
// max_i |a_i − n_i| / max(|a_i|, |n_i|, floor) with floor = 1e-2·max_j |n_j|,
// so that entries far below the tensor's gradient scale, where float32
// cancellation dominates, are judged against that scale.
func gradErr(a []float32, n []float64) float64 {
	scale := 0.0
	for _, v := range n {
		scale = math.Max(scale, math.Abs(v))
	}
	floor := 1e-2*scale + 1e-30
	worst := 0.0
	for i := range n {
		d := math.Abs(float64(a[i]) - n[i])
		den := math.Max(math.Max(math.Abs(float64(a[i])), math.Abs(n[i])), floor)
		worst = math.Max(worst, d/den)
	}
	return worst
}

// numGrad returns the central-difference gradient of f at x (float64,
// step h), restoring x.
func numGrad(f func() float64, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		v := x[i]
		x[i] = v + h
		fp := f()
		x[i] = v - h
		fm := f()
		x[i] = v
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

func randVec(r *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * r.NormFloat64())
	}
	return v
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// checkClose fails t if a and b (a float32 computation and its float64
// reference) differ by more than tol relative to b's largest magnitude.
func checkClose(t *testing.T, what string, a []float32, b []float64, tol float64) {
	t.Helper()
	scale := 1e-30
	for _, v := range b {
		scale = math.Max(scale, math.Abs(v))
	}
	worst := 0.0
	for i := range b {
		worst = math.Max(worst, math.Abs(float64(a[i])-b[i])/scale)
	}
	if worst > tol || len(a) != len(b) {
		t.Errorf("%s: max difference %.3g of max |ref| (tol %g; %d vs %d values)", what, worst, tol, len(a), len(b))
	}
}
