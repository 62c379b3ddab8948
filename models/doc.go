// Package models holds the networks that sleepbench trains: a BERT-style
// encoder and a GPT-2-style decoder written with hand-written forward and
// backward passes (the llm.c approach), an MLP for the image tasks, the
// AdamW optimiser and safetensors checkpoints.
//
// Every model keeps its parameters in one flat []float32 sliced into named
// tensors (Params); gradients and optimiser moments share that layout.
// Every matrix product goes through a gonum blas.Float32 implementation,
// chosen at build time: OpenBLAS with the "openblas" build tag, otherwise
// the package's own pure-Go GEMM.
//
// models knows nothing of tasks or continual-learning methods.
package models
