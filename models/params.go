package models

import "fmt"

// Kind says what role a tensor plays, so that methods can treat roles
// differently (synaptic normalisation touches only weight matrices, for
// instance) without knowing a model's architecture.
type Kind int

const (
	// Matrix is a weight matrix of a linear map (attention, MLP, heads).
	Matrix Kind = iota
	// Bias is an additive bias vector.
	Bias
	// Norm is a LayerNorm gain or shift.
	Norm
	// Embedding is a token, position or type embedding table.
	Embedding
)

func (k Kind) String() string {
	switch k {
	case Matrix:
		return "matrix"
	case Bias:
		return "bias"
	case Norm:
		return "norm"
	case Embedding:
		return "embedding"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Tensor names a slice of a flat parameter buffer.
type Tensor struct {
	Name   string
	Kind   Kind
	Offset int   // first element in the flat buffer
	Shape  []int // row-major; Size() elements
}

// Size is the number of elements of t.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Params is a flat float32 buffer sliced into named tensors. Parameters,
// gradients and optimiser moments of a model all share one layout, so a
// method can walk them with plain loops over the same offsets.
type Params struct {
	Data    []float32
	Tensors []Tensor
	index   map[string]int
}

// NewLayout builds an empty (zeroed) Params holding the given tensors in
// order. Offsets are assigned here; those in the arguments are ignored.
func NewLayout(tensors []Tensor) *Params {
	p := &Params{index: make(map[string]int, len(tensors))}
	off := 0
	for _, t := range tensors {
		t.Offset = off
		t.Shape = append([]int(nil), t.Shape...)
		off += t.Size()
		p.index[t.Name] = len(p.Tensors)
		p.Tensors = append(p.Tensors, t)
	}
	p.Data = make([]float32, off)
	return p
}

// Like returns a zeroed Params with the same layout as p.
func (p *Params) Like() *Params {
	return &Params{Data: make([]float32, len(p.Data)), Tensors: p.Tensors, index: p.index}
}

// Clone returns a deep copy of the data sharing p's (immutable) layout.
func (p *Params) Clone() *Params {
	q := p.Like()
	copy(q.Data, p.Data)
	return q
}

// Len is the total number of elements.
func (p *Params) Len() int { return len(p.Data) }

// Lookup returns the tensor called name.
func (p *Params) Lookup(name string) (Tensor, bool) {
	i, ok := p.index[name]
	if !ok {
		return Tensor{}, false
	}
	return p.Tensors[i], true
}

// Slice returns the elements of t in p's buffer (a view, not a copy).
func (p *Params) Slice(t Tensor) []float32 {
	return p.Data[t.Offset : t.Offset+t.Size()]
}

// Get returns the elements of the tensor called name, or panics if there
// is none: layouts are fixed at construction, so a missing name is a bug.
func (p *Params) Get(name string) []float32 {
	t, ok := p.Lookup(name)
	if !ok {
		panic("models: no tensor " + name)
	}
	return p.Slice(t)
}

// Zero sets every element to 0.
func (p *Params) Zero() { clear(p.Data) }
