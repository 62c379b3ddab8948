//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels of vec.go. Each processes n elements, n a positive
// multiple of 8; the Go wrappers handle the tails.

// Constants, eight copies each (AVX2 has no broadcast memory operands).
DATA lo<>+0(SB)/4, $0xc2ae0000
DATA lo<>+4(SB)/4, $0xc2ae0000
DATA lo<>+8(SB)/4, $0xc2ae0000
DATA lo<>+12(SB)/4, $0xc2ae0000
DATA lo<>+16(SB)/4, $0xc2ae0000
DATA lo<>+20(SB)/4, $0xc2ae0000
DATA lo<>+24(SB)/4, $0xc2ae0000
DATA lo<>+28(SB)/4, $0xc2ae0000
GLOBL lo<>(SB), RODATA|NOPTR, $32
DATA hi<>+0(SB)/4, $0x42b00000
DATA hi<>+4(SB)/4, $0x42b00000
DATA hi<>+8(SB)/4, $0x42b00000
DATA hi<>+12(SB)/4, $0x42b00000
DATA hi<>+16(SB)/4, $0x42b00000
DATA hi<>+20(SB)/4, $0x42b00000
DATA hi<>+24(SB)/4, $0x42b00000
DATA hi<>+28(SB)/4, $0x42b00000
GLOBL hi<>(SB), RODATA|NOPTR, $32
DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32
DATA c1<>+0(SB)/4, $0x3f318000
DATA c1<>+4(SB)/4, $0x3f318000
DATA c1<>+8(SB)/4, $0x3f318000
DATA c1<>+12(SB)/4, $0x3f318000
DATA c1<>+16(SB)/4, $0x3f318000
DATA c1<>+20(SB)/4, $0x3f318000
DATA c1<>+24(SB)/4, $0x3f318000
DATA c1<>+28(SB)/4, $0x3f318000
GLOBL c1<>(SB), RODATA|NOPTR, $32
DATA c2<>+0(SB)/4, $0x395e8083
DATA c2<>+4(SB)/4, $0x395e8083
DATA c2<>+8(SB)/4, $0x395e8083
DATA c2<>+12(SB)/4, $0x395e8083
DATA c2<>+16(SB)/4, $0x395e8083
DATA c2<>+20(SB)/4, $0x395e8083
DATA c2<>+24(SB)/4, $0x395e8083
DATA c2<>+28(SB)/4, $0x395e8083
GLOBL c2<>(SB), RODATA|NOPTR, $32
DATA p0<>+0(SB)/4, $0x39506967
DATA p0<>+4(SB)/4, $0x39506967
DATA p0<>+8(SB)/4, $0x39506967
DATA p0<>+12(SB)/4, $0x39506967
DATA p0<>+16(SB)/4, $0x39506967
DATA p0<>+20(SB)/4, $0x39506967
DATA p0<>+24(SB)/4, $0x39506967
DATA p0<>+28(SB)/4, $0x39506967
GLOBL p0<>(SB), RODATA|NOPTR, $32
DATA p1<>+0(SB)/4, $0x3ab743ce
DATA p1<>+4(SB)/4, $0x3ab743ce
DATA p1<>+8(SB)/4, $0x3ab743ce
DATA p1<>+12(SB)/4, $0x3ab743ce
DATA p1<>+16(SB)/4, $0x3ab743ce
DATA p1<>+20(SB)/4, $0x3ab743ce
DATA p1<>+24(SB)/4, $0x3ab743ce
DATA p1<>+28(SB)/4, $0x3ab743ce
GLOBL p1<>(SB), RODATA|NOPTR, $32
DATA p2<>+0(SB)/4, $0x3c088908
DATA p2<>+4(SB)/4, $0x3c088908
DATA p2<>+8(SB)/4, $0x3c088908
DATA p2<>+12(SB)/4, $0x3c088908
DATA p2<>+16(SB)/4, $0x3c088908
DATA p2<>+20(SB)/4, $0x3c088908
DATA p2<>+24(SB)/4, $0x3c088908
DATA p2<>+28(SB)/4, $0x3c088908
GLOBL p2<>(SB), RODATA|NOPTR, $32
DATA p3<>+0(SB)/4, $0x3d2aa9c1
DATA p3<>+4(SB)/4, $0x3d2aa9c1
DATA p3<>+8(SB)/4, $0x3d2aa9c1
DATA p3<>+12(SB)/4, $0x3d2aa9c1
DATA p3<>+16(SB)/4, $0x3d2aa9c1
DATA p3<>+20(SB)/4, $0x3d2aa9c1
DATA p3<>+24(SB)/4, $0x3d2aa9c1
DATA p3<>+28(SB)/4, $0x3d2aa9c1
GLOBL p3<>(SB), RODATA|NOPTR, $32
DATA p4<>+0(SB)/4, $0x3e2aaaaa
DATA p4<>+4(SB)/4, $0x3e2aaaaa
DATA p4<>+8(SB)/4, $0x3e2aaaaa
DATA p4<>+12(SB)/4, $0x3e2aaaaa
DATA p4<>+16(SB)/4, $0x3e2aaaaa
DATA p4<>+20(SB)/4, $0x3e2aaaaa
DATA p4<>+24(SB)/4, $0x3e2aaaaa
DATA p4<>+28(SB)/4, $0x3e2aaaaa
GLOBL p4<>(SB), RODATA|NOPTR, $32
DATA p5<>+0(SB)/4, $0x3f000000
DATA p5<>+4(SB)/4, $0x3f000000
DATA p5<>+8(SB)/4, $0x3f000000
DATA p5<>+12(SB)/4, $0x3f000000
DATA p5<>+16(SB)/4, $0x3f000000
DATA p5<>+20(SB)/4, $0x3f000000
DATA p5<>+24(SB)/4, $0x3f000000
DATA p5<>+28(SB)/4, $0x3f000000
GLOBL p5<>(SB), RODATA|NOPTR, $32
DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32
DATA i127<>+0(SB)/4, $0x0000007f
DATA i127<>+4(SB)/4, $0x0000007f
DATA i127<>+8(SB)/4, $0x0000007f
DATA i127<>+12(SB)/4, $0x0000007f
DATA i127<>+16(SB)/4, $0x0000007f
DATA i127<>+20(SB)/4, $0x0000007f
DATA i127<>+24(SB)/4, $0x0000007f
DATA i127<>+28(SB)/4, $0x0000007f
GLOBL i127<>(SB), RODATA|NOPTR, $32
DATA gc<>+0(SB)/4, $0x3f4c422a
DATA gc<>+4(SB)/4, $0x3f4c422a
DATA gc<>+8(SB)/4, $0x3f4c422a
DATA gc<>+12(SB)/4, $0x3f4c422a
DATA gc<>+16(SB)/4, $0x3f4c422a
DATA gc<>+20(SB)/4, $0x3f4c422a
DATA gc<>+24(SB)/4, $0x3f4c422a
DATA gc<>+28(SB)/4, $0x3f4c422a
GLOBL gc<>(SB), RODATA|NOPTR, $32
DATA gca<>+0(SB)/4, $0x3d122279
DATA gca<>+4(SB)/4, $0x3d122279
DATA gca<>+8(SB)/4, $0x3d122279
DATA gca<>+12(SB)/4, $0x3d122279
DATA gca<>+16(SB)/4, $0x3d122279
DATA gca<>+20(SB)/4, $0x3d122279
DATA gca<>+24(SB)/4, $0x3d122279
DATA gca<>+28(SB)/4, $0x3d122279
GLOBL gca<>(SB), RODATA|NOPTR, $32
DATA m2<>+0(SB)/4, $0xc0000000
DATA m2<>+4(SB)/4, $0xc0000000
DATA m2<>+8(SB)/4, $0xc0000000
DATA m2<>+12(SB)/4, $0xc0000000
DATA m2<>+16(SB)/4, $0xc0000000
DATA m2<>+20(SB)/4, $0xc0000000
DATA m2<>+24(SB)/4, $0xc0000000
DATA m2<>+28(SB)/4, $0xc0000000
GLOBL m2<>(SB), RODATA|NOPTR, $32
DATA g3a<>+0(SB)/4, $0x3e095d4f
DATA g3a<>+4(SB)/4, $0x3e095d4f
DATA g3a<>+8(SB)/4, $0x3e095d4f
DATA g3a<>+12(SB)/4, $0x3e095d4f
DATA g3a<>+16(SB)/4, $0x3e095d4f
DATA g3a<>+20(SB)/4, $0x3e095d4f
DATA g3a<>+24(SB)/4, $0x3e095d4f
DATA g3a<>+28(SB)/4, $0x3e095d4f
GLOBL g3a<>(SB), RODATA|NOPTR, $32
DATA g2c<>+0(SB)/4, $0x3fcc422a
DATA g2c<>+4(SB)/4, $0x3fcc422a
DATA g2c<>+8(SB)/4, $0x3fcc422a
DATA g2c<>+12(SB)/4, $0x3fcc422a
DATA g2c<>+16(SB)/4, $0x3fcc422a
DATA g2c<>+20(SB)/4, $0x3fcc422a
DATA g2c<>+24(SB)/4, $0x3fcc422a
DATA g2c<>+28(SB)/4, $0x3fcc422a
GLOBL g2c<>(SB), RODATA|NOPTR, $32


// EXP replaces the eight floats of X by e^X (Cephes expf: clamp to
// [-87, 88], k = round(x·log2 e), r = x − k·ln 2 in two parts, degree-5
// polynomial, scale by 2^k). Clobbers Y1, Y2, Y3.
#define EXP(X) \
	VMAXPS lo<>(SB), X, X \
	VMINPS hi<>(SB), X, X \
	VMULPS log2e<>(SB), X, Y1 \
	VROUNDPS $0, Y1, Y1 \
	VFNMADD231PS c1<>(SB), Y1, X \
	VFMADD231PS c2<>(SB), Y1, X \
	VMOVUPS p0<>(SB), Y3 \
	VFMADD213PS p1<>(SB), X, Y3 \
	VFMADD213PS p2<>(SB), X, Y3 \
	VFMADD213PS p3<>(SB), X, Y3 \
	VFMADD213PS p4<>(SB), X, Y3 \
	VFMADD213PS p5<>(SB), X, Y3 \
	VMULPS X, X, Y2 \
	VFMADD213PS X, Y2, Y3 \
	VADDPS one<>(SB), Y3, Y3 \
	VCVTPS2DQ Y1, Y1 \
	VPADDD i127<>(SB), Y1, Y1 \
	VPSLLD $23, Y1, Y1 \
	VMULPS Y1, Y3, X

// func vexpShift(dst, src *float32, n int, shift float32) float32
TEXT ·vexpShift(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y7
	VXORPS Y6, Y6, Y6
expLoop:
	VMOVUPS (SI), Y0
	VSUBPS Y7, Y0, Y0
	EXP(Y0)
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y6, Y6
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ expLoop
	VEXTRACTF128 $1, Y6, X0
	VADDPS X0, X6, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// func vmax(x *float32, n int) float32
TEXT ·vmax(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y6
	ADDQ $32, SI
	SUBQ $8, CX
	JZ maxReduce
maxLoop:
	VMAXPS (SI), Y6, Y6
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ maxLoop
maxReduce:
	VEXTRACTF128 $1, Y6, X0
	VMAXPS X0, X6, X0
	VMOVHLPS X0, X0, X1
	VMAXPS X1, X0, X0
	VMOVSHDUP X0, X1
	VMAXSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func vscale(x *float32, n int, k float32)
TEXT ·vscale(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS k+16(FP), Y7
scaleLoop:
	VMULPS (SI), Y7, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ scaleLoop
	VZEROUPPER
	RET

// func vgelu(out, sig, in *float32, n int)
// sig = σ(2u), out = x·sig with u = √(2/π)(x + 0.044715x³).
TEXT ·vgelu(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ sig+8(FP), BX
	MOVQ in+16(FP), SI
	MOVQ n+24(FP), CX
geluLoop:
	VMOVUPS (SI), Y4
	VMULPS Y4, Y4, Y5
	VMOVUPS gca<>(SB), Y0
	VFMADD213PS gc<>(SB), Y5, Y0
	VMULPS Y4, Y0, Y0
	VMULPS m2<>(SB), Y0, Y0
	EXP(Y0)
	VADDPS one<>(SB), Y0, Y0
	VMOVUPS one<>(SB), Y5
	VDIVPS Y0, Y5, Y5
	VMOVUPS Y5, (BX)
	VMULPS Y4, Y5, Y5
	VMOVUPS Y5, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ geluLoop
	VZEROUPPER
	RET

// func vgeluBack(d, in, sig *float32, n int)
// d *= s + x·s·(1−s)·2√(2/π)(1 + 3·0.044715x²), s = sig.
TEXT ·vgeluBack(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ sig+16(FP), BX
	MOVQ n+24(FP), CX
geluBackLoop:
	VMOVUPS (SI), Y4
	VMOVUPS (BX), Y5
	VMULPS Y4, Y4, Y0
	VMOVUPS g3a<>(SB), Y1
	VFMADD213PS one<>(SB), Y1, Y0
	VMULPS g2c<>(SB), Y0, Y0
	VMOVUPS one<>(SB), Y1
	VSUBPS Y5, Y1, Y1
	VMULPS Y5, Y4, Y2
	VMULPS Y1, Y2, Y2
	VFMADD213PS Y5, Y2, Y0
	VMULPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ geluBackLoop
	VZEROUPPER
	RET

// func vadamw(x, grad, m, v *float32, n int, c *[8]float32)
// c = {β₁, 1−β₁, β₂, 1−β₂, keep, step, 1/√bc₂, ε}:
// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; x ← keep·x − step·(m/(√v/√bc₂ + ε)).
TEXT ·vadamw(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), BX
	MOVQ v+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), R8
	VBROADCASTSS 0(R8), Y8
	VBROADCASTSS 4(R8), Y9
	VBROADCASTSS 8(R8), Y10
	VBROADCASTSS 12(R8), Y11
	VBROADCASTSS 16(R8), Y12
	VBROADCASTSS 20(R8), Y13
	VBROADCASTSS 24(R8), Y14
	VBROADCASTSS 28(R8), Y15
adamLoop:
	VMOVUPS (SI), Y0
	VMULPS (BX), Y8, Y1
	VFMADD231PS Y9, Y0, Y1
	VMOVUPS Y1, (BX)
	VMULPS Y0, Y0, Y2
	VMULPS (DX), Y10, Y3
	VFMADD231PS Y11, Y2, Y3
	VMOVUPS Y3, (DX)
	VSQRTPS Y3, Y3
	VMULPS Y14, Y3, Y3
	VADDPS Y15, Y3, Y3
	VDIVPS Y3, Y1, Y1
	VMULPS Y13, Y1, Y1
	VMULPS (DI), Y12, Y2
	VSUBPS Y1, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ adamLoop
	VZEROUPPER
	RET
