package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Gradient checks of each kernel against central finite differences of
// the float64 reference (ref_test.go). The analytic gradients are float32,
// so the tolerance on gradErr is 1e-3: a wrong term shows up as an error
// of order 1.
const gradTol = 1e-3

// dot64 is Σ a·b with a float32 weights.
func dot64(a []float32, b []float64) float64 {
	s := 0.0
	for i := range b {
		s += float64(a[i]) * b[i]
	}
	return s
}

func TestLayerNormGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const N, D = 5, 7
	x := randVec(r, N*D, 1)
	w, b := randVec(r, D, 1), randVec(r, D, 1)
	dout := randVec(r, N*D, 1)
	for _, th := range []int{1, 3} {
		out := make([]float32, N*D)
		mean, rstd := make([]float32, N), make([]float32, N)
		layerNormForward(out, mean, rstd, x, w, b, N, D, 1e-5, th)
		din := make([]float32, N*D)
		for i := range din {
			din[i] = 1 // accumulate mode adds to this
		}
		dw, db := make([]float32, D), make([]float32, D)
		dw[0], db[D-1] = 99, 99 // must be overwritten
		layerNormBackward(din, dw, db, dout, x, mean, rstd, w, N, D, true, th)
		for i := range din {
			din[i]--
		}
		X, W, B := f64(x), f64(w), f64(b)
		f := func() float64 {
			s := 0.0
			for n := 0; n < N; n++ {
				s += dot64(dout[n*D:(n+1)*D], refLN(X[n*D:(n+1)*D], W, B, 1e-5))
			}
			return s
		}
		var want []float64
		for n := 0; n < N; n++ {
			want = append(want, refLN(X[n*D:(n+1)*D], W, B, 1e-5)...)
		}
		checkClose(t, "layernorm forward", out, want, 1e-6)
		for _, c := range []struct {
			name string
			a    []float32
			x    []float64
		}{{"dx", din, X}, {"dw", dw, W}, {"db", db, B}} {
			e := gradErr(c.a, numGrad(f, c.x, 1e-6))
			t.Logf("threads %d: layernorm %s max rel err %.2g", th, c.name, e)
			if e > gradTol {
				t.Errorf("layernorm %s: max rel err %.3g > %g", c.name, e, gradTol)
			}
		}
	}
}

// TestGeluMLPGrad checks FC₂(GELU(FC₁ x)): linear, GELU (both forms)
// and their backward passes.
func TestGeluMLPGrad(t *testing.T) {
	for _, act := range []Activation{GELUTanh, GELUErf} {
		t.Run(act.String(), func(t *testing.T) { testGeluMLPGrad(t, act) })
	}
}

func testGeluMLPGrad(t *testing.T, act Activation) {
	r := rand.New(rand.NewPCG(2, 2))
	bl := BLAS()
	const N, I, F, O = 6, 5, 9, 4
	x := randVec(r, N*I, 1.5)
	w1, b1 := randVec(r, F*I, 0.8), randVec(r, F, 0.5)
	w2, b2 := randVec(r, O*F, 0.8), randVec(r, O, 0.5)
	dout := randVec(r, N*O, 1)

	h := make([]float32, N*F)
	g := make([]float32, N*F)
	sg := make([]float32, N*F)
	out := make([]float32, N*O)
	linearForward(bl, h, x, w1, nil, N, I, F)
	geluForward(act, g, sg, h, b1, N, F, 2)
	linearForward(bl, out, g, w2, b2, N, F, O)

	dx := make([]float32, N*I)
	dw1, db1 := make([]float32, F*I), make([]float32, F)
	dw2, db2 := make([]float32, O*F), make([]float32, O)
	dw1[3], db1[0], dw2[5], db2[O-1] = 99, 99, 99, 99 // must be overwritten
	dg := make([]float32, N*F)
	linearBackward(bl, dg, dw2, db2, dout, g, w2, N, F, O, 0, 2)
	geluBackward(act, dg, h, sg, 2)
	linearBackward(bl, dx, dw1, db1, dg, x, w1, N, I, F, 0, 2)

	X, W1, B1, W2, B2 := f64(x), f64(w1), f64(b1), f64(w2), f64(b2)
	fwd := func() []float64 {
		var all []float64
		for n := 0; n < N; n++ {
			u := refLinear(X[n*I:(n+1)*I], W1, B1, F)
			for i := range u {
				u[i] = refAct(act, u[i])
			}
			all = append(all, refLinear(u, W2, B2, O)...)
		}
		return all
	}
	checkClose(t, "MLP forward", out, fwd(), 1e-5)
	f := func() float64 { return dot64(dout, fwd()) }
	for _, c := range []struct {
		name string
		a    []float32
		x    []float64
	}{{"dx", dx, X}, {"dW1", dw1, W1}, {"db1", db1, B1}, {"dW2", dw2, W2}, {"db2", db2, B2}} {
		e := gradErr(c.a, numGrad(f, c.x, 1e-6))
		t.Logf("GELU MLP %s max rel err %.2g", c.name, e)
		if e > gradTol {
			t.Errorf("GELU MLP %s: max rel err %.3g > %g", c.name, e, gradTol)
		}
	}
}

func TestGeluValues(t *testing.T) {
	// Hand values of ½x(1+tanh(√(2/π)(x+0.044715x³))).
	for _, c := range []struct{ x, want float64 }{
		{0, 0}, {1, 0.8411919906}, {-1, -0.1588080094}, {3, 2.9963627}, {-6, -0.0000000000}, {10, 10},
	} {
		out := make([]float32, 1)
		geluForward(GELUTanh, out, make([]float32, 1), []float32{float32(c.x)}, nil, 1, 1, 1)
		if math.Abs(float64(out[0])-c.want) > 2e-6*math.Max(1, math.Abs(c.want)) {
			t.Errorf("gelu(%g) = %.9g, want %.9g", c.x, out[0], c.want)
		}
	}
}

func TestGeluErfValues(t *testing.T) {
	// Hand values of x·Φ(x) from tables of the normal CDF: Φ(1) =
	// 0.8413447461, Φ(-1) = 0.1586552539, Φ(3) = 0.9986501020, Φ(-6) =
	// 9.8658765e-10; and far out Φ(10) = 1 to float32.
	for _, c := range []struct{ x, want float64 }{
		{0, 0}, {1, 0.8413447461}, {-1, -0.1586552539}, {3, 2.995950306}, {-6, -5.9195259e-9}, {10, 10},
	} {
		out, sig := make([]float32, 1), make([]float32, 1)
		geluForward(GELUErf, out, sig, []float32{float32(c.x)}, nil, 1, 1, 1)
		if math.Abs(float64(out[0])-c.want) > 2e-7*math.Max(1, math.Abs(c.want)) {
			t.Errorf("erf gelu(%g) = %.9g, want %.9g", c.x, out[0], c.want)
		}
	}
	// The two forms differ by up to about 5e-4 near |x| = 2 (the tanh
	// form's known error), so a model must use the one it was trained
	// with: at x = 2, ½x(1+tanh u) = 1.954597694 and x·Φ(x) = 1.954499736.
	tanh, erf := make([]float32, 1), make([]float32, 1)
	geluForward(GELUTanh, tanh, make([]float32, 1), []float32{2}, nil, 1, 1, 1)
	geluForward(GELUErf, erf, make([]float32, 1), []float32{2}, nil, 1, 1, 1)
	if d := float64(tanh[0] - erf[0]); math.Abs(d-(1.954597694-1.954499736)) > 1e-6 {
		t.Errorf("gelu(2): tanh form %.9g − erf form %.9g = %.3g, want 9.80e-5", tanh[0], erf[0], d)
	}
}

// TestGeluErfGrad checks geluErfBack against central differences of the
// float64 erf form over a range of inputs, tails included, on both sides
// of the multiple-of-8 split that parallelVec uses.
func TestGeluErfGrad(t *testing.T) {
	var x []float32
	for v := -7.0; v <= 7; v += 0.37 {
		x = append(x, float32(v))
	}
	out, sig := make([]float32, len(x)), make([]float32, len(x))
	geluForward(GELUErf, out, sig, x, nil, 1, len(x), 3)
	d := make([]float32, len(x))
	for i := range d {
		d[i] = 1
	}
	geluBackward(GELUErf, d, x, sig, 3)
	const h = 1e-6
	for i, v := range x {
		xv := float64(v)
		want := (refAct(GELUErf, xv+h) - refAct(GELUErf, xv-h)) / (2 * h)
		if math.Abs(float64(d[i])-want) > 2e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("erf gelu′(%g) = %.9g, finite difference %.9g", v, d[i], want)
		}
	}
}

func TestExpf(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88; x += 0.0137 {
		got := float64(expf(float32(x)))
		want := math.Exp(float64(float32(x)))
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	t.Logf("expf max rel err over [-87, 88]: %.2g", worst)
	if worst > 5e-7 {
		t.Errorf("expf max rel err %.3g > 5e-7", worst)
	}
	if expf(-1000) <= 0 || math.IsInf(float64(expf(1000)), 0) {
		t.Errorf("expf does not clamp: expf(-1000)=%g expf(1000)=%g", expf(-1000), expf(1000))
	}
}

func TestEmbeddingGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	const B, T, D, V = 2, 4, 5, 6
	ids := []int32{1, 5, 1, 0, 3, 3, 2, 5}
	wte, wpe, wtt := randVec(r, V*D, 1), randVec(r, T*D, 1), randVec(r, D, 1)
	dout := randVec(r, B*T*D, 1)
	out := make([]float32, B*T*D)
	embedForward(out, ids, wte, wpe, wtt, B, T, D, 2)
	gte, gpe, gtt := make([]float32, V*D), make([]float32, T*D), make([]float32, D)
	embedBackward(gte, gpe, gtt, dout, ids, B, T, D, 2)
	E, P, Y := f64(wte), f64(wpe), f64(wtt)
	fwd := func() []float64 {
		var all []float64
		for n, id := range ids {
			for d := 0; d < D; d++ {
				all = append(all, E[int(id)*D+d]+P[(n%T)*D+d]+Y[d])
			}
		}
		return all
	}
	checkClose(t, "embedding forward", out, fwd(), 1e-7)
	f := func() float64 { return dot64(dout, fwd()) }
	for _, c := range []struct {
		name string
		a    []float32
		x    []float64
	}{{"wte", gte, E}, {"wpe", gpe, P}, {"wtt", gtt, Y}} {
		e := gradErr(c.a, numGrad(f, c.x, 1e-6))
		t.Logf("embedding %s max rel err %.2g", c.name, e)
		if e > gradTol {
			t.Errorf("embedding %s: max rel err %.3g > %g", c.name, e, gradTol)
		}
	}
}

func TestXentGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, V := range []int{2, 7, 300} {
		z := randVec(r, V, 3)
		tgt := V / 2
		const scale = 0.37
		Z := f64(z)
		wantLoss := refXent(Z, tgt)
		g := append([]float32(nil), z...)
		loss, arg := xent(g, tgt, scale, true)
		loss2, arg2 := xent(append([]float32(nil), z...), tgt, 0, false)
		if math.Abs(loss-wantLoss) > 1e-5*math.Max(1, wantLoss) || loss != loss2 {
			t.Errorf("V=%d: loss %v (no grad %v), want %v", V, loss, loss2, wantLoss)
		}
		best := 0
		for j, v := range z {
			if v > z[best] {
				best = j
			}
		}
		if arg != -1 || arg2 != best {
			t.Errorf("V=%d: argmax %d/%d, want %d", V, arg, arg2, best)
		}
		e := gradErr(g, numGrad(func() float64 { return scale * refXent(Z, tgt) }, Z, 1e-6))
		t.Logf("cross-entropy V=%d max rel err %.2g", V, e)
		if e > gradTol {
			t.Errorf("cross-entropy V=%d: max rel err %.3g > %g", V, e, gradTol)
		}
	}
}

func TestAttentionGrad(t *testing.T) {
	bl := BLAS()
	const B, T, H, D = 2, 5, 2, 6
	for _, c := range []struct {
		name    string
		causal  bool
		lengths []int
		noise   float32
		slopes  []float32
	}{
		{"causal", true, nil, 0, nil},
		{"causal padded", true, []int{5, 3}, 0, nil},
		{"bidirectional", false, nil, 0, nil},
		{"padded", false, []int{2, 4}, 0, nil},
		{"causal noisy", true, []int{4, 5}, 0.7, nil},
		{"padded noisy", false, []int{3, 5}, 0.7, nil},
		{"alibi", false, nil, 0, []float32{0.5, 0.125}},
		{"alibi padded noisy", false, []int{3, 5}, 0.7, []float32{0.5, 0.125}},
		{"alibi causal", true, []int{4, 5}, 0, []float32{0.5, 0.125}},
	} {
		for _, run := range []struct{ th, block int }{{1, 0}, {3, 0}, {1, 2}, {2, 3}} {
			th := run.th
			t.Run(fmt.Sprintf("%s/threads=%d/block=%d", c.name, th, run.block), func(t *testing.T) {
				r := rand.New(rand.NewPCG(5, 5))
				qkv := randVec(r, B*T*3*D, 1)
				dout := randVec(r, B*T*D, 1)
				seeds := []uint64{11, 12, 13, 14}
				s := attn{B: B, T: T, H: H, D: D, lengths: c.lengths, causal: c.causal, block: run.block, slopes: c.slopes}
				out := make([]float32, B*T*D)
				att := make([]float32, B*H*T*T)
				s.forward(bl, out, att, qkv, c.noise, seeds, newNoiseRNGs(th), th)
				dqkv := make([]float32, B*T*3*D)
				for i := range dqkv {
					dqkv[i] = 99 // must be overwritten
				}
				s.backward(bl, dqkv, dout, att, qkv, make([]float32, th*T*T), th)
				Q := f64(qkv)
				var sd []uint64
				if c.noise > 0 {
					sd = seeds
				}
				fwd := func() []float64 {
					rows := make([][]float64, B*T)
					for n := range rows {
						rows[n] = Q[n*3*D : (n+1)*3*D]
					}
					var all []float64
					for _, v := range refAttention(rows, B, T, H, D, c.lengths, c.causal, c.slopes, float64(c.noise), sd) {
						all = append(all, v...)
					}
					return all
				}
				checkClose(t, "attention forward", out, fwd(), 1e-6)
				e := gradErr(dqkv, numGrad(func() float64 { return dot64(dout, fwd()) }, Q, 1e-6))
				t.Logf("attention %s dqkv max rel err %.2g", c.name, e)
				if e > gradTol {
					t.Errorf("attention %s: max rel err %.3g > %g", c.name, e, gradTol)
				}
			})
		}
	}
}

// With zero queries and keys, ALiBi alone sets the attention: query i's
// probability for key j is exp(−m|i−j|)/Σ_k exp(−m|i−k|), computed here
// by hand for T = 3 and m = ln 2 (weights 1, ½, ¼).
func TestAlibiByHand(t *testing.T) {
	const B, T, H, D = 1, 3, 1, 2
	qkv := make([]float32, B*T*3*D)
	for i := 0; i < T; i++ { // values: position i carries (i, 1)
		qkv[i*3*D+2*D], qkv[i*3*D+2*D+1] = float32(i), 1
	}
	s := attn{B: B, T: T, H: H, D: D, slopes: []float32{float32(math.Ln2)}}
	out := make([]float32, B*T*D)
	att := make([]float32, B*H*T*T)
	s.forward(BLAS(), out, att, qkv, 0, nil, newNoiseRNGs(1), 1)
	want := []float64{
		1 / 1.75, 0.5 / 1.75, 0.25 / 1.75, // query 0: distances 0, 1, 2
		0.5 / 2, 1 / 2.0, 0.5 / 2, // query 1: 1, 0, 1
		0.25 / 1.75, 0.5 / 1.75, 1 / 1.75, // query 2: 2, 1, 0
	}
	checkClose(t, "ALiBi probabilities", att, want, 1e-6)
	if got, w := out[0], (0.5+2*0.25)/1.75; math.Abs(float64(got)-w) > 1e-6 {
		t.Errorf("query 0 output %v, want %v", got, w)
	}
}
