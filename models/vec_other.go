//go:build !amd64 || purego

package models

// haveVec is false: this build has no vector kernels, and the functions
// below are never called.
const haveVec = false

func vexpShift(dst, src *float32, n int, shift float32) float32 { panic("no vector kernels") }
func vmax(x *float32, n int) float32                            { panic("no vector kernels") }
func vscale(x *float32, n int, k float32)                       { panic("no vector kernels") }
func vgelu(out, sig, in *float32, n int)                        { panic("no vector kernels") }
func vgeluBack(d, in, sig *float32, n int)                      { panic("no vector kernels") }
func vadamw(x, grad, m, v *float32, n int, c *[8]float32)       { panic("no vector kernels") }
