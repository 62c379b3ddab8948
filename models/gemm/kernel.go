package gemm

import "unsafe"

// kernel describes one micro-kernel and the block sizes that suit it.
type kernel struct {
	name string
	mr   int // rows of the C tile (A micro-panel height)
	nr   int // columns of the C tile (B micro-panel width)
	mc   int // rows of A packed per block (a multiple of mr; kept in L3)
	nc   int // columns of B packed per block (a multiple of nr; kept in L2)
	// fn computes C = alpha·AB + beta·C for one mr×nr tile at c (row
	// stride ldc) from a packed mr×k micro-panel a and k×nr micro-panel b.
	// C is not read when beta == 0.
	fn func(k int, a, b, c *float32, ldc int, alpha, beta float32)
	// trans packs a micro-panel from rows of a row-major matrix, transposed:
	// dst[p*w+r] = src[r*lds+p] for r < rows ≤ w and p < k; dst[p*w+r] = 0
	// for rows ≤ r < w.
	trans func(dst []float32, w int, src []float32, lds, rows, k int)
}

// kc is the depth of a packed block. It is the same for every kernel and
// thread count, so that the summation order of each element of C is fixed.
const kc = 256

// generic is the portable kernel.
var generic = &kernel{name: "go", mr: 4, nr: 4, mc: 256, nc: 1024, fn: kernGo4x4, trans: transPortable}

// kernGo4x4 is the portable 4×4 micro-kernel.
func kernGo4x4(k int, ap, bp, cp *float32, ldc int, alpha, beta float32) {
	a := unsafe.Slice(ap, 4*k)
	b := unsafe.Slice(bp, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		av := a[4*p : 4*p+4 : 4*p+4]
		bv := b[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	c := unsafe.Slice(cp, 3*ldc+4)
	acc := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := range acc {
		row := c[i*ldc : i*ldc+4 : i*ldc+4]
		if beta == 0 {
			for j, v := range acc[i] {
				row[j] = alpha * v
			}
		} else {
			for j, v := range acc[i] {
				row[j] = beta*row[j] + alpha*v
			}
		}
	}
}

// transPortable is the portable transposing pack (see kernel.trans).
func transPortable(dst []float32, w int, src []float32, lds, rows, k int) {
	transGo(dst, w, src, lds, 0, rows, 0, k)
}

// transGo sets dst[p*w+r] = src[r*lds+p] for r in [r0, rows) and p in
// [0, k), and for r in [0, r0) and p in [p0, k); it zeroes dst[p*w+r] for
// r in [rows, w) and p in [0, k). (transAVX has done rows [0, r0) up to
// depth p0.)
func transGo(dst []float32, w int, src []float32, lds, r0, rows, p0, k int) {
	if k == 0 {
		return
	}
	for r := 0; r < rows; r++ {
		lo := 0
		if r < r0 {
			lo = p0
		}
		s := src[r*lds : r*lds+k]
		for p := lo; p < k; p++ {
			dst[p*w+r] = s[p]
		}
	}
	if rows < w {
		for p := 0; p < k; p++ {
			clear(dst[p*w+rows : p*w+w])
		}
	}
}
