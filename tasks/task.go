// Package tasks turns Arrow dataset files into continual-learning tasks:
// a Task is one domain with train / validation / test streams and an
// objective; a Sequence is tasks in order. Batches are cut from Arrow
// record batches as they stream, shuffled by seed, never by loading a
// whole file to make one batch.
package tasks

import (
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/models"
)

// Spec says how to open one task.
type Spec struct {
	// Dir is the folder holding the Arrow files (datasets/data by default).
	Dir string
	// Domain is a domain name (files Dir/<tokenizer>/<domain>-<split>.arrow)
	// or a path prefix of a user's own files.
	Domain string
	// Tokenizer names the tokenization to read ("gpt2-8k", "gpt2",
	// "bert-uncased", "pixels").
	Tokenizer string
	// Objective: NextToken (decoder), Masked (encoder) or Classify.
	Objective models.Objective
	// Ctx is the window length in tokens (rows are cut or padded to it).
	Ctx int
	// EvalRows caps the test and validation rows scored per evaluation
	// (0 = all), so that evaluation cost is bounded and fixed.
	EvalRows int
}

// Task is one domain of a sequence. It implements methods.TaskData.
type Task struct {
	Spec       Spec
	Idx        int // position in the sequence
	NumClasses int // for Classify; 0 otherwise
	// (implementation fields are private)
}

// Index is the task's position in the sequence.
func (t *Task) Index() int { return t.Idx }

// Name is the task's domain.
func (t *Task) Name() string { return t.Spec.Domain }

// Open opens a task. Implemented in open.go.
//
//	func Open(spec Spec, index int) (*Task, error)
//
// Sample draws n random training rows as one batch (methods.TaskData).
//
//	func (t *Task) Sample(rng *rand.Rand, n int) (*models.Batch, error)
//
// Validation draws n random validation rows as one batch.
//
//	func (t *Task) Validation(rng *rand.Rand, n int) (*models.Batch, error)
//
// Train returns an endless stream of shuffled training batches.
//
//	func (t *Task) Train(rng *rand.Rand, batchSize int) Stream
//
// Test returns the fixed evaluation batches of the test split (the same
// rows and, for MLM, the same masks every call, so scores are comparable
// across rows of the accuracy matrix).
//
//	func (t *Task) Test(batchSize int) ([]*models.Batch, error)
//
// Close releases open files.
//
//	func (t *Task) Close() error
var _ = rand.New

// Stream yields training batches.
type Stream interface {
	Next() (*models.Batch, error)
}
