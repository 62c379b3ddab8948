package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/blas"
)

// MLPConfig shapes a multilayer perceptron for feature inputs (images).
type MLPConfig struct {
	// In is the number of input features (Batch.T).
	In int
	// Hidden lists the widths of the ReLU hidden layers, input side first.
	Hidden []int
	// Classes lists the classes of each task's head (task-incremental:
	// Batch.Task[b] picks the head). With SharedHead the model has one
	// head of max(Classes) outputs used by every row.
	Classes []int
	// SharedHead makes all tasks share one output head.
	SharedHead bool
}

// MLP is a ReLU multilayer perceptron with softmax cross-entropy heads:
// the MLP of Hsu et al. 2018 (784-400-400-10) for split and permuted
// MNIST. It implements Model on Classify batches of Features.
//
// Tensors: "hidden.L.weight" (Matrix, [out, in]) and "hidden.L.bias"
// (Bias) for each hidden layer L, then "head.H.weight" / "head.H.bias" for
// each head H (a single "head.0" when SharedHead). A layer computes
// y = x·Wᵀ + b, as PyTorch's nn.Linear does.
//
// Batch.Outputs restricts the training loss (ForwardBackward, Losses) to
// the first Outputs logits of each row's head: the softmax is over those
// logits only and the others get a gradient of exactly 0. Evaluate uses
// every logit.
//
// ForwardOptions.EmbedNoise adds Gaussian noise of std
// EmbedNoise·RMS(x) to each row x of input features (the backward pass
// goes through it); AttnNoise is ignored, having no attention to perturb.
//
// An MLP is not safe for concurrent use: it reuses its activation
// buffers from call to call.
type MLP struct {
	cfg    MLPConfig
	name   string
	params *Params
	grads  *Params
	blas   blas.Float32
	hidden []mlpLayer // weight and bias tensors of each hidden layer
	heads  []mlpLayer

	// Scratch buffers, grown to the largest batch seen.
	x      []float32   // input after noise, B×In
	acts   [][]float32 // post-ReLU activations of each hidden layer, B×H
	dacts  [][]float32 // their gradients
	logits []float32   // B×maxClasses, rows laid out at stride maxClasses
	gin    []float32   // gathered head inputs
	gout   []float32   // gathered head logits or their gradients
	gdin   []float32   // gathered gradient of head inputs
}

type mlpLayer struct {
	w, b    Tensor
	in, out int
}

// NewMLP builds an MLP with PyTorch's default nn.Linear initialisation
// (weights and biases uniform in ±1/√fan_in), drawn from a PCG seeded by
// seed.
func NewMLP(cfg MLPConfig, seed uint64) (*MLP, error) {
	if cfg.In <= 0 {
		return nil, fmt.Errorf("mlp: In must be positive, got %d", cfg.In)
	}
	for i, h := range cfg.Hidden {
		if h <= 0 {
			return nil, fmt.Errorf("mlp: Hidden[%d] must be positive, got %d", i, h)
		}
	}
	if len(cfg.Classes) == 0 {
		return nil, errors.New("mlp: Classes is empty; need at least one head")
	}
	maxC := 0
	for i, c := range cfg.Classes {
		if c < 2 {
			return nil, fmt.Errorf("mlp: Classes[%d] must be at least 2, got %d", i, c)
		}
		maxC = max(maxC, c)
	}
	cfg.Hidden = append([]int(nil), cfg.Hidden...)
	cfg.Classes = append([]int(nil), cfg.Classes...)

	var tensors []Tensor
	in := cfg.In
	for l, h := range cfg.Hidden {
		tensors = append(tensors,
			Tensor{Name: fmt.Sprintf("hidden.%d.weight", l), Kind: Matrix, Shape: []int{h, in}},
			Tensor{Name: fmt.Sprintf("hidden.%d.bias", l), Kind: Bias, Shape: []int{h}})
		in = h
	}
	headSizes := cfg.Classes
	if cfg.SharedHead {
		headSizes = []int{maxC}
	}
	for h, c := range headSizes {
		tensors = append(tensors,
			Tensor{Name: fmt.Sprintf("head.%d.weight", h), Kind: Matrix, Shape: []int{c, in}},
			Tensor{Name: fmt.Sprintf("head.%d.bias", h), Kind: Bias, Shape: []int{c}})
	}
	p := NewLayout(tensors)
	m := &MLP{cfg: cfg, params: p, grads: p.Like(), blas: BLAS()}

	dims := []string{strconv.Itoa(cfg.In)}
	for _, h := range cfg.Hidden {
		dims = append(dims, strconv.Itoa(h))
	}
	if cfg.SharedHead {
		dims = append(dims, strconv.Itoa(maxC))
	} else {
		cs := make([]string, len(cfg.Classes))
		for i, c := range cfg.Classes {
			cs[i] = strconv.Itoa(c)
		}
		dims = append(dims, strings.Join(cs, "+"))
	}
	m.name = "mlp-" + strings.Join(dims, "-")

	rng := rand.New(rand.NewPCG(seed, 0x6d6c70)) // "mlp"
	for i := 0; i < len(p.Tensors); i += 2 {
		w, b := p.Tensors[i], p.Tensors[i+1]
		layer := mlpLayer{w: w, b: b, out: w.Shape[0], in: w.Shape[1]}
		bound := 1 / math.Sqrt(float64(layer.in))
		for _, t := range []Tensor{w, b} {
			s := p.Slice(t)
			for j := range s {
				s[j] = float32((2*rng.Float64() - 1) * bound)
			}
		}
		if i/2 < len(cfg.Hidden) {
			m.hidden = append(m.hidden, layer)
		} else {
			m.heads = append(m.heads, layer)
		}
	}
	return m, nil
}

// Config returns the configuration the MLP was built with.
func (m *MLP) Config() MLPConfig { return m.cfg }

// Name describes the shape, e.g. "mlp-784-400-400-10" or, with one head
// per task, "mlp-784-400-400-2+2+2+2+2".
func (m *MLP) Name() string { return m.name }

// Params are the trainable parameters.
func (m *MLP) Params() *Params { return m.params }

// Grads has Params' layout; ForwardBackward overwrites it.
func (m *MLP) Grads() *Params { return m.grads }

// ForwardBackward computes the batch loss Σ_b w_b·ℓ_b / N (N = rows with
// a label ≥ 0; ℓ_b over the first b.Outputs logits when b.Outputs > 0)
// and overwrites Grads with its gradient.
func (m *MLP) ForwardBackward(b *Batch, opt ForwardOptions) (float64, error) {
	heads, err := m.forward(b, opt, true)
	if err != nil {
		return 0, err
	}
	m.grads.Zero()
	B := b.B
	n := mlpCountLabels(b.Targets[:B])
	if n == 0 {
		return 0, nil
	}
	inv := 1 / float64(n)
	stride := m.maxClasses()
	// Softmax cross-entropy, turning logits into their gradient in place.
	var loss float64
	for r := 0; r < B; r++ {
		y := int(b.Targets[r])
		c := m.heads[heads[r]].out
		row := m.logits[r*stride : r*stride+c]
		if y < 0 {
			clear(row)
			continue
		}
		if b.Outputs > 0 {
			clear(row[b.Outputs:]) // masked logits: gradient exactly 0
			row = row[:b.Outputs]
		}
		w := 1.0
		if b.Weights != nil {
			w = float64(b.Weights[r])
		}
		lse := mlpLogSumExp(row)
		loss += w * (lse - float64(row[y]))
		scale := w * inv
		for k := range row {
			row[k] = float32(math.Exp(float64(row[k])-lse) * scale)
		}
		row[y] -= float32(scale)
	}
	m.backward(B, heads)
	return loss * inv, nil
}

// Losses returns each row's cross-entropy (0 for a row whose label is
// negative, i.e. ignored; over the first b.Outputs logits when
// b.Outputs > 0), without touching Grads.
func (m *MLP) Losses(b *Batch, opt ForwardOptions) ([]float64, error) {
	heads, err := m.forward(b, opt, true)
	if err != nil {
		return nil, err
	}
	stride := m.maxClasses()
	out := make([]float64, b.B)
	for r := range out {
		y := int(b.Targets[r])
		if y < 0 {
			continue
		}
		row := m.logits[r*stride : r*stride+m.heads[heads[r]].out]
		if b.Outputs > 0 {
			row = row[:b.Outputs]
		}
		out[r] = mlpLogSumExp(row) - float64(row[y])
	}
	return out, nil
}

// Evaluate scores a batch with a clean forward pass: top-1 accuracy and
// summed (unweighted) cross-entropy over the rows with a label ≥ 0, over
// every output of the head (b.Outputs is ignored).
func (m *MLP) Evaluate(b *Batch) (Score, error) {
	heads, err := m.forward(b, ForwardOptions{}, false)
	if err != nil {
		return Score{}, err
	}
	stride := m.maxClasses()
	var s Score
	for r := 0; r < b.B; r++ {
		y := int(b.Targets[r])
		if y < 0 {
			continue
		}
		row := m.logits[r*stride : r*stride+m.heads[heads[r]].out]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		s.Total++
		if best == y {
			s.Correct++
		}
		s.LossSum += mlpLogSumExp(row) - float64(row[y])
	}
	return s, nil
}

func (m *MLP) maxClasses() int {
	c := 0
	for _, h := range m.heads {
		c = max(c, h.out)
	}
	return c
}

// forward checks b (and, for training, b.Outputs), runs the network and
// leaves the logits of row r in m.logits[r*maxClasses:]. It returns each
// row's head.
func (m *MLP) forward(b *Batch, opt ForwardOptions, train bool) ([]int, error) {
	if err := m.check(b); err != nil {
		return nil, err
	}
	B := b.B
	heads := make([]int, B)
	if !m.cfg.SharedHead {
		for r := range heads {
			if b.Task != nil {
				heads[r] = b.Task[r]
			}
		}
	}
	if train {
		if err := m.checkOutputs(b, heads); err != nil {
			return nil, err
		}
	}
	m.x = grow(m.x, B*m.cfg.In)
	x := m.x
	copy(x, b.Features[:B*m.cfg.In])
	if opt.EmbedNoise != 0 {
		if opt.RNG == nil {
			return nil, errors.New("mlp: EmbedNoise set without an RNG")
		}
		in := m.cfg.In
		for r := 0; r < B; r++ {
			row := x[r*in : (r+1)*in]
			var ss float64
			for _, v := range row {
				ss += float64(v) * float64(v)
			}
			std := float64(opt.EmbedNoise) * math.Sqrt(ss/float64(in))
			for i := range row {
				row[i] += float32(opt.RNG.NormFloat64() * std)
			}
		}
	}
	if len(m.acts) != len(m.hidden) {
		m.acts = make([][]float32, len(m.hidden))
		m.dacts = make([][]float32, len(m.hidden))
	}
	in := x
	for l, ly := range m.hidden {
		m.acts[l] = grow(m.acts[l], B*ly.out)
		a := m.acts[l]
		m.dacts[l] = grow(m.dacts[l], B*ly.out)
		linearForward(m.blas, a, in, m.params.Slice(ly.w), m.params.Slice(ly.b), B, ly.in, ly.out)
		for i, v := range a {
			if v < 0 {
				a[i] = 0
			}
		}
		in = a
	}
	last := m.cfg.In
	if L := len(m.hidden); L > 0 {
		last = m.hidden[L-1].out
	}
	stride := m.maxClasses()
	m.logits = grow(m.logits, B*stride)
	logits := m.logits
	for h, hd := range m.heads {
		rows := mlpRows(heads, h)
		if len(rows) == 0 {
			continue
		}
		k := len(rows)
		m.gin = grow(m.gin, k*last)
		gin := m.gin
		for i, r := range rows {
			copy(gin[i*last:(i+1)*last], in[r*last:(r+1)*last])
		}
		m.gout = grow(m.gout, k*hd.out)
		gout := m.gout
		linearForward(m.blas, gout, gin, m.params.Slice(hd.w), m.params.Slice(hd.b), k, last, hd.out)
		for i, r := range rows {
			copy(logits[r*stride:r*stride+hd.out], gout[i*hd.out:(i+1)*hd.out])
		}
	}
	return heads, nil
}

// backward computes the gradient of the loss of B rows (whose heads
// forward chose) into m.grads, which must be zero, from the logit
// gradients in m.logits and the activations of forward.
func (m *MLP) backward(B int, heads []int) {
	stride := m.maxClasses()
	last := m.cfg.In
	lastAct := m.x
	if L := len(m.hidden); L > 0 {
		last = m.hidden[L-1].out
		lastAct = m.acts[L-1]
	}
	var dlast []float32
	if L := len(m.hidden); L > 0 {
		dlast = m.dacts[L-1][:B*last]
		clear(dlast)
	}
	for h := range m.heads {
		rows := mlpRows(heads, h)
		if len(rows) == 0 {
			continue
		}
		hd := m.heads[h]
		k := len(rows)
		m.gout = grow(m.gout, k*hd.out)
		m.gin = grow(m.gin, k*last)
		gout, gin := m.gout, m.gin
		for i, r := range rows {
			copy(gout[i*hd.out:(i+1)*hd.out], m.logits[r*stride:r*stride+hd.out])
			copy(gin[i*last:(i+1)*last], lastAct[r*last:(r+1)*last])
		}
		var gdin []float32 // the gradient of the head's input rows
		if dlast != nil {
			m.gdin = grow(m.gdin, k*last)
			gdin = m.gdin
		}
		linearBackward(m.blas, gdin, m.grads.Slice(hd.w), m.grads.Slice(hd.b), gout, gin, m.params.Slice(hd.w), k, last, hd.out, 0, 1)
		if gdin != nil {
			for i, r := range rows {
				copy(dlast[r*last:(r+1)*last], gdin[i*last:(i+1)*last])
			}
		}
	}
	for l := len(m.hidden) - 1; l >= 0; l-- {
		ly := m.hidden[l]
		dz := m.dacts[l][:B*ly.out]
		a := m.acts[l][:B*ly.out]
		for i := range dz {
			if a[i] <= 0 {
				dz[i] = 0
			}
		}
		var in []float32
		if l > 0 {
			in = m.acts[l-1][:B*ly.in]
		} else {
			in = m.x[:B*ly.in]
		}
		var din []float32
		if l > 0 {
			din = m.dacts[l-1][:B*ly.in]
		}
		linearBackward(m.blas, din, m.grads.Slice(ly.w), m.grads.Slice(ly.b), dz, in, m.params.Slice(ly.w), B, ly.in, ly.out, 0, 1)
	}
}

// mlpRows lists the rows whose head is h.
func mlpRows(heads []int, h int) []int {
	var rows []int
	for r, x := range heads {
		if x == h {
			rows = append(rows, r)
		}
	}
	return rows
}

func mlpCountLabels(targets []int32) int {
	n := 0
	for _, y := range targets {
		if y >= 0 {
			n++
		}
	}
	return n
}

func mlpLogSumExp(row []float32) float64 {
	mx := row[0]
	for _, v := range row {
		mx = max(mx, v)
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v - mx))
	}
	return float64(mx) + math.Log(s)
}
