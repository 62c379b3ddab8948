package suite

import (
	"math"
	"strconv"
)

// Rotated MNIST (Buzzega et al. 2020) rotates every image of a task by
// one fixed angle with torchvision's F.rotate on the PIL image, with its
// defaults: nearest-neighbour resampling, rotation about the image
// centre, counter-clockwise for a positive angle, the same 28×28 size,
// pixels that come from outside the image set to 0. F.rotate calls
// Pillow's Image.rotate, which
//
//   - takes the angle modulo 360 and returns a copy at 0° and the exact
//     180° transpose at 180°;
//   - otherwise builds the inverse affine map from output to input
//     coordinates about the centre (w/2, h/2) = (14, 14), with cos and
//     sin of −angle rounded to 15 decimals, and resamples through its
//     affine engine, which (for coordinates this small) works in 16.16
//     fixed point: each coefficient is rounded to a multiple of 1/65536,
//     an output pixel (x, y) is sampled at its centre (x + ½, y + ½), and
//     the input pixel is the floor of the mapped coordinates (Pillow's
//     libImaging/Geometry.c, affine_fixed).
//
// rotationMap reproduces that arithmetic. Since the angle is fixed for a
// task, the rotation is a fixed gather: output pixel j takes input pixel
// m[j] (or 0 when m[j] < 0), so the suite stores one map of 784 indices
// per task and applies it while building batches, as permuted MNIST
// applies its permutation, instead of storing rotated copies of the
// images (20 tasks × 70,000 images × 784 pixels would be 1.1 GB even as
// bytes).

// rotationMap returns, for a side×side image rotated by deg degrees
// counter-clockwise about its centre, the input pixel (row-major index)
// each output pixel takes, or −1 where it falls outside the image (the
// pixel is then 0).
func rotationMap(side int, deg float64) []int {
	m := make([]int, side*side)
	deg = math.Mod(deg, 360)
	if deg < 0 {
		deg += 360 // Python's float modulo is never negative
	}
	switch deg {
	case 0:
		for j := range m {
			m[j] = j
		}
		return m
	case 180:
		for j := range m {
			m[j] = len(m) - 1 - j
		}
		return m
	}
	a := -deg * (math.Pi / 180) // math.radians, negated
	cos, sin := round15(math.Cos(a)), round15(math.Sin(a))
	mat := [6]float64{cos, sin, 0, round15(-math.Sin(a)), cos, 0}
	c := float64(side) / 2
	mat[2] = mat[0]*-c + mat[1]*-c + mat[2] + c
	mat[5] = mat[3]*-c + mat[4]*-c + mat[5] + c
	fix := func(v float64) int { return int(math.Floor(v*65536 + 0.5)) }
	a0, a1, a3, a4 := fix(mat[0]), fix(mat[1]), fix(mat[3]), fix(mat[4])
	a2 := fix(mat[2] + mat[0]*0.5 + mat[1]*0.5)
	a5 := fix(mat[5] + mat[3]*0.5 + mat[4]*0.5)
	for y := 0; y < side; y++ {
		xx, yy := a2+y*a1, a5+y*a4
		for x := 0; x < side; x++ {
			xin, yin := xx>>16, yy>>16 // floor, as an arithmetic shift
			m[y*side+x] = -1
			if xin >= 0 && xin < side && yin >= 0 && yin < side {
				m[y*side+x] = yin*side + xin
			}
			xx += a0
			yy += a3
		}
	}
	return m
}

// round15 rounds x to 15 decimals, as Python's round(x, 15).
func round15(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 15, 64), 64)
	return v
}

// rotate writes src rotated through map m into dst (0 where m is −1).
func rotate(dst, src []uint8, m []int) {
	for j, s := range m {
		if s >= 0 {
			dst[j] = src[s]
		} else {
			dst[j] = 0
		}
	}
}
