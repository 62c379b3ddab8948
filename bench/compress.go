package bench

import (
	"math"
	"slices"
	"sort"

	"github.com/sleepbench/sleepbench/models"
)

// Compression transforms of the compression protocol, in the order
// Run.Compression lists them.
const (
	NoCompression = "none"
	Prune30       = "prune30"
	Int4          = "int4"
	// The same with the embedding tables (and so a decoder's tied LM
	// head) included.
	Prune30All = "prune30-all"
	Int4All    = "int4-all"
)

// matricesOnly and withEmbeddings are the tensor kinds the transforms
// touch.
var (
	matricesOnly   = []models.Kind{models.Matrix}
	withEmbeddings = []models.Kind{models.Matrix, models.Embedding}
)

// Share is the fraction of p's parameters in tensors of the given kinds.
func Share(p *models.Params, kinds []models.Kind) float64 {
	n := 0
	for _, t := range p.Tensors {
		if slices.Contains(kinds, t.Kind) {
			n += len(p.Slice(t))
		}
	}
	return float64(n) / float64(len(p.Data))
}

// Prune zeroes, in every tensor of p of one of the given kinds (every
// Kind==Matrix tensor when none are given), the floor(frac·n) elements of
// smallest magnitude (n = the tensor's size; the threshold is per
// tensor). Ties are broken by position, so exactly floor(frac·n)
// elements are zeroed. By default biases, norms and embeddings —
// including a decoder's LM head, which is tied to the token embedding —
// are left untouched. It returns the number of elements zeroed.
func Prune(p *models.Params, frac float64, kinds ...models.Kind) int {
	if len(kinds) == 0 {
		kinds = matricesOnly
	}
	zeroed := 0
	for _, t := range p.Tensors {
		if !slices.Contains(kinds, t.Kind) {
			continue
		}
		w := p.Slice(t)
		k := int(math.Floor(frac * float64(len(w))))
		if k <= 0 {
			continue
		}
		idx := make([]int, len(w))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			return math.Abs(float64(w[idx[a]])) < math.Abs(float64(w[idx[b]]))
		})
		for _, i := range idx[:k] {
			w[i] = 0
		}
		zeroed += k
	}
	return zeroed
}

// QuantizeInt4 rounds every Kind==Matrix tensor of p to 4-bit integers
// per row, symmetrically, and writes back the dequantised values: for
// each row r (a run of Shape[last] contiguous elements), scale =
// max|w_r|/7, q = round(w/scale) (half away from zero) clamped to
// [−8, 7], w = q·scale. A row of zeros stays zero. Only tensors of the
// given kinds are quantised (every Kind==Matrix tensor when none are
// given), as in Prune.
func QuantizeInt4(p *models.Params, kinds ...models.Kind) {
	if len(kinds) == 0 {
		kinds = matricesOnly
	}
	for _, t := range p.Tensors {
		if !slices.Contains(kinds, t.Kind) {
			continue
		}
		w := p.Slice(t)
		cols := len(w)
		if len(t.Shape) > 0 {
			cols = t.Shape[len(t.Shape)-1]
		}
		if cols <= 0 {
			continue
		}
		for r := 0; r+cols <= len(w); r += cols {
			row := w[r : r+cols]
			var m float32
			for _, x := range row {
				if a := float32(math.Abs(float64(x))); a > m {
					m = a
				}
			}
			if m == 0 {
				continue
			}
			scale := m / 7
			for i, x := range row {
				q := math.Round(float64(x / scale))
				q = math.Max(-8, math.Min(7, q))
				row[i] = float32(q) * scale
			}
		}
	}
}
