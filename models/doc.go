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
// The Transformer is spread over a few files: config.go (shapes, the
// built-in configs, the tensor layout and parameter and FLOP counts),
// kernels.go (each layer's forward and backward over flat buffers),
// vec.go with vec_amd64.s (AVX2 exp, softmax, GELU and AdamW loops),
// gelu.go (the exact erf GELU, Config.Act),
// transformer.go (the type, its tensors and activations, Model),
// transformer_pass.go (the whole model's forward and backward pass),
// transformer_block.go (one block's forward and backward),
// transformer_heads.go (the LM, MLM and classification heads, each
// forward beside its backward), transformer_check.go (batch validation),
// optim.go (AdamW, gradient clipping, the learning-rate
// schedule), safetensors.go (checkpoints) and hf.go (Hugging Face GPT-2
// and BERT checkpoints: LoadHF, ExportHF).
//
// Results are deterministic: every random draw comes from a seeded
// generator passed in, and work split among goroutines is cut so that no
// value depends on the split, so one seed gives bit-identical training
// on one machine and build, whatever Config.Threads is.
//
// models knows nothing of tasks or continual-learning methods.
package models
