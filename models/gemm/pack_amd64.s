//go:build amd64 && !purego

#include "textflag.h"

// func transpose4(dst *float32, ldd int, src *float32, lds int, k int)
//
// For q in [0, 4) and p in [0, k), k a positive multiple of 8:
// dst[p*ldd+q] = src[q*lds+p]. Four rows are read 8 values at a time and
// transposed in 4×4 blocks within each 128-bit lane. Needs AVX.
TEXT ·transpose4(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	SHLQ $2, R8            // R8 = ldd in bytes
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	SHLQ $2, R9            // R9 = lds in bytes
	MOVQ k+32(FP), CX
	SHRQ $3, CX            // blocks of 8 depths
	LEAQ (SI)(R9*2), R10   // row 2
	LEAQ (R8)(R8*2), R11   // 3·ldd bytes
	MOVQ R8, R12
	SHLQ $2, R12           // 4·ldd bytes
	MOVQ R8, R13
	SHLQ $3, R13           // 8·ldd bytes

loop:
	VMOVUPS (SI), Y0       // row 0: a0..a7
	VMOVUPS (SI)(R9*1), Y1 // row 1: b0..b7
	VMOVUPS (R10), Y2      // row 2: c0..c7
	VMOVUPS (R10)(R9*1), Y3
	VUNPCKLPS Y1, Y0, Y4   // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS Y1, Y0, Y5   // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS Y3, Y2, Y6   // c0 d0 c1 d1 | ...
	VUNPCKHPS Y3, Y2, Y7   // c2 d2 c3 d3 | ...
	VUNPCKLPD Y6, Y4, Y0   // a0 b0 c0 d0 | a4 b4 c4 d4
	VUNPCKHPD Y6, Y4, Y1   // a1 b1 c1 d1 | a5 ...
	VUNPCKLPD Y7, Y5, Y2   // a2 b2 c2 d2 | a6 ...
	VUNPCKHPD Y7, Y5, Y3   // a3 b3 c3 d3 | a7 ...
	MOVQ DI, DX
	VMOVUPS X0, (DX)
	VMOVUPS X1, (DX)(R8*1)
	VMOVUPS X2, (DX)(R8*2)
	VMOVUPS X3, (DX)(R11*1)
	ADDQ R12, DX
	VEXTRACTF128 $1, Y0, (DX)
	VEXTRACTF128 $1, Y1, (DX)(R8*1)
	VEXTRACTF128 $1, Y2, (DX)(R8*2)
	VEXTRACTF128 $1, Y3, (DX)(R11*1)
	ADDQ R13, DI
	ADDQ $32, SI
	ADDQ $32, R10
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET
