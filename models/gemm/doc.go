// Package gemm is a fast float32 matrix product (SGEMM) for sleepbench,
// written in Go with Go-assembly micro-kernels.
//
// Implementation satisfies gonum's blas.Float32: it overrides Sgemm and
// inherits every other routine from gonum's pure-Go implementation. Sgemm
// has the row-major semantics of gonum's blas32:
//
//	C = alpha·op(A)·op(B) + beta·C
//
// The product is blocked in the GotoBLAS/BLIS way: A is packed into
// micro-panels of MR rows (a block of them stays in the last-level cache),
// B into micro-panels of NR columns (a block stays in L2), and a register-
// tiled micro-kernel multiplies one A micro-panel by one B micro-panel with
// fused multiply-adds. The kernel is chosen at run time from the CPU's
// features: AVX-512 (12×32 tile), AVX2+FMA (6×16 tile), or a portable Go
// kernel (the only one in builds with the purego tag or on other
// architectures).
//
// Results are deterministic: the depth dimension is cut into blocks of a
// fixed size, every element of C is one chain of fused multiply-adds in
// increasing k within a block, and blocks are added in order. Threads split
// the columns (or rows) of C, never the depth, so the result does not depend
// on the thread count. The AVX-512 and AVX2 kernels give bit-identical
// results; the portable kernel may differ from them in the last bit.
package gemm
