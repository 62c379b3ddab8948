//go:build amd64 && !purego

package models

import "golang.org/x/sys/cpu"

// haveVec says whether the AVX2+FMA kernels of vec_amd64.s can run; it
// is fixed at start-up from the CPU's features.
var haveVec = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func vexpShift(dst, src *float32, n int, shift float32) float32

//go:noescape
func vmax(x *float32, n int) float32

//go:noescape
func vscale(x *float32, n int, k float32)

//go:noescape
func vgelu(out, sig, in *float32, n int)

//go:noescape
func vgeluBack(d, in, sig *float32, n int)

//go:noescape
func vadamw(x, grad, m, v *float32, n int, c *[8]float32)
