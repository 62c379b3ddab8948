package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// SHNMode selects the form of synaptic homeostatic normalisation.
type SHNMode int

const (
	// SHNElementwise is DESIGN.md's reading: w ← β·w/(1+α·|w|) for every
	// element of a matrix, with β chosen per matrix so that the matrix's
	// RMS is unchanged. Large weights shrink relatively more than small
	// ones: a change of shape, not of scale.
	SHNElementwise SHNMode = iota
	// SHNScalar is the paper's per-matrix ‖W‖₂ form, read as a pure
	// rescale: W ← W/(1+α·‖W‖₂/√n), with ‖W‖₂ the Frobenius norm and n the
	// element count (so ‖W‖₂/√n is the RMS and α means the same as in
	// elementwise mode). Every weight of a matrix shrinks by the same
	// factor; the RMS is not restored, since restoring it would make this
	// mode the identity.
	SHNScalar
)

func (m SHNMode) String() string {
	switch m {
	case SHNElementwise:
		return "elementwise"
	case SHNScalar:
		return "scalar"
	}
	return fmt.Sprintf("SHNMode(%d)", int(m))
}

// SHN applies synaptic homeostatic normalisation in place to every
// Kind==Matrix tensor of p (weight matrices of linear maps, heads
// included). LayerNorm gains and shifts, biases and embeddings are left
// untouched. alpha ≥ 0 sets the strength; alpha = 0 changes nothing.
// In elementwise mode each matrix keeps its RMS. Arithmetic is in
// float64 per matrix.
func SHN(p *models.Params, alpha float64, mode SHNMode) { SHNToRMS(p, alpha, mode, nil) }

// MatrixRMS returns the RMS of every Kind==Matrix tensor of p, in the
// order of p.Tensors, for SHNToRMS.
func MatrixRMS(p *models.Params) []float64 {
	var out []float64
	for _, t := range p.Tensors {
		if t.Kind == models.Matrix {
			out = append(out, rms(p.Slice(t)))
		}
	}
	return out
}

func rms(w []float32) float64 {
	if len(w) == 0 {
		return 0
	}
	var ss float64
	for _, v := range w {
		ss += float64(v) * float64(v)
	}
	return math.Sqrt(ss / float64(len(w)))
}

// SHNToRMS is SHN whose elementwise mode sets the k-th matrix's RMS to
// target[k] (from MatrixRMS, taken before a sleep, so that a sleep's
// replay and SHN together leave every matrix's scale as it was when the
// sleep began); nil target keeps each matrix's current RMS. The scalar
// mode ignores target.
func SHNToRMS(p *models.Params, alpha float64, mode SHNMode, target []float64) {
	if alpha == 0 {
		return
	}
	k := -1
	for _, t := range p.Tensors {
		if t.Kind != models.Matrix {
			continue
		}
		k++
		w := p.Slice(t)
		cur := rms(w)
		if cur == 0 {
			continue
		}
		switch mode {
		case SHNScalar:
			f := 1 / (1 + alpha*cur)
			for i, v := range w {
				w[i] = float32(float64(v) * f)
			}
		default:
			want := cur
			if target != nil {
				want = target[k]
			}
			var ss2 float64
			for _, v := range w {
				x := float64(v) / (1 + alpha*math.Abs(float64(v)))
				ss2 += x * x
			}
			beta := want / math.Sqrt(ss2/float64(len(w)))
			for i, v := range w {
				w[i] = float32(beta * float64(v) / (1 + alpha*math.Abs(float64(v))))
			}
		}
	}
}
