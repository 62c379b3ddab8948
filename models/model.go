package models

import (
	"math/rand/v2"
	"slices"
)

// Objective is what a batch asks the model to predict.
type Objective int

const (
	// NextToken is causal language modelling: Targets[b*T+t] is the token
	// after Inputs[b*T+t] (or -1 to ignore the position).
	NextToken Objective = iota
	// Masked is masked language modelling: Targets holds the original ids
	// at masked positions and -1 elsewhere.
	Masked
	// Classify is sequence (or image) classification: Targets has one
	// label per row, predicted by the head of the row's task.
	Classify
)

func (o Objective) String() string {
	switch o {
	case NextToken:
		return "next-token"
	case Masked:
		return "masked-token"
	case Classify:
		return "classify"
	}
	return "unknown"
}

// Batch is a model's input: B rows of T token ids (or of T float features
// for image tasks, in Features). Rows are independent examples, so a batch
// can be cut into rows and rows from different tasks concatenated (replay
// does this).
type Batch struct {
	Objective Objective
	B, T      int
	// Inputs holds B*T token ids, row-major; nil for feature inputs.
	Inputs []int32
	// Features holds B*T float inputs (images); nil for token inputs.
	Features []float32
	// Lengths[b] is the number of real tokens of row b; positions at and
	// after it are padding, masked out of attention. Nil means all T.
	Lengths []int
	// Targets: B*T ids for NextToken and Masked (-1 = ignore), B labels
	// for Classify.
	Targets []int32
	// Task[b] is the task of row b; it picks the classification head.
	Task []int
	// Weights[b] scales row b's loss (importance sampling); nil means 1.
	Weights []float32
	// Outputs, when positive, lets only the first Outputs outputs of each
	// row's head enter the training loss (ForwardBackward and Losses):
	// with a shared head, the classes seen so far, as in class-incremental
	// learning (Hsu et al. 2018's valid_out_dim). Every labelled row needs
	// a label below Outputs. 0 = all outputs. Evaluate always uses every
	// output. A model that does not support it refuses a batch with
	// Outputs ≠ 0 in ForwardBackward and Losses.
	Outputs int
}

// Clone returns a deep copy of b: no slice is shared.
func (b *Batch) Clone() *Batch {
	c := *b
	c.Inputs = slices.Clone(b.Inputs)
	c.Features = slices.Clone(b.Features)
	c.Lengths = slices.Clone(b.Lengths)
	c.Targets = slices.Clone(b.Targets)
	c.Task = slices.Clone(b.Task)
	c.Weights = slices.Clone(b.Weights)
	return &c
}

// ForwardOptions perturb a forward pass. The zero value is a clean pass;
// noise is only ever applied when asked (during sleep).
type ForwardOptions struct {
	// EmbedNoise adds Gaussian noise of std EmbedNoise·RMS(h) to the input
	// embeddings h (for an MLP: to its input features).
	EmbedNoise float32
	// AttnNoise adds Gaussian noise of std AttnNoise to the (scaled)
	// attention logits before the softmax. Ignored by models without
	// attention.
	AttnNoise float32
	// RNG draws the noise; required when either noise is non-zero.
	RNG *rand.Rand
}

// Score is the outcome of evaluating a batch.
type Score struct {
	Correct, Total int     // top-1 hits over predicted positions or rows
	LossSum        float64 // summed cross-entropy over the same positions
}

// Model is what the training loop and the continual-learning methods see
// of a network: its parameters and gradients as flat named tensors, a
// loss and gradient on a batch, per-example losses, and evaluation.
//
// The loss of a batch is Σ_b w_b·ℓ_b / N where ℓ_b is the summed
// cross-entropy over row b's targets, w_b its weight (default 1) and N the
// number of targets in the batch.
type Model interface {
	// Name is the config name (e.g. "gpt2-mini").
	Name() string
	// Params are the trainable parameters.
	Params() *Params
	// Grads has Params' layout; ForwardBackward overwrites it.
	Grads() *Params
	// ForwardBackward computes the batch loss and overwrites Grads with
	// its gradient.
	ForwardBackward(b *Batch, opt ForwardOptions) (float64, error)
	// Losses returns each row's mean cross-entropy over its targets,
	// without touching Grads.
	Losses(b *Batch, opt ForwardOptions) ([]float64, error)
	// Evaluate scores a batch with a clean forward pass.
	Evaluate(b *Batch) (Score, error)
}
