// Package tasks turns Arrow dataset files into continual-learning tasks:
// a Task is one domain with train / validation / test streams and an
// objective; a Sequence is tasks in order. Batches are cut from Arrow
// record batches as they stream, shuffled by seed, never by loading a
// whole file to make one batch.
//
// Examples are cut from a split's rows according to the objective:
//
//   - NextToken: the rows' ids are joined end to end (with the file's
//     separator id between rows when its metadata gives one) and cut into
//     non-overlapping windows of Ctx+1 tokens; Inputs = w[:Ctx],
//     Targets = w[1:]. A trailing partial window is dropped.
//   - Masked: the same packing into windows of Ctx-2 tokens, each wrapped
//     as [CLS] window [SEP]; 15% of the non-special positions of a row
//     are chosen (the integer part of 15%, plus one with probability its
//     fraction, at least one), of which 80% become [MASK], 10% a random
//     non-special id and 10% stay; Targets holds the original id
//     at the chosen positions and -1 elsewhere.
//   - Classify: one example per row, cut or padded to Ctx (with [CLS] and
//     [SEP] around it for the bert-uncased tokenizer), Targets = label.
//     Image files (tokenizer "pixels") give Features = pixel/255 instead
//     of Inputs, one row of the image's size.
//
// Windows are indexed by (record batch, offset), so a batch decodes only
// the record batches it touches; decoded batches are kept in a bounded
// cache per split (the whole split when it fits, which it does for the
// committed data).
package tasks

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/models"
)

// Spec says how to open one task.
type Spec struct {
	// Dir is the folder holding the Arrow files (datasets/data by default).
	Dir string
	// Domain is a domain name (files Dir/<tokenizer>/<domain>-<split>.arrow)
	// or a path prefix of a user's own files (it holds a "/": files
	// <domain>-<split>.arrow).
	Domain string
	// Tokenizer names the tokenization to read ("gpt2-8k", "gpt2",
	// "bert-uncased", "pixels").
	Tokenizer string
	// Objective: NextToken (decoder), Masked (encoder) or Classify.
	Objective models.Objective
	// Ctx is the window length in tokens (rows are cut or padded to it);
	// ignored for images, whose rows are the image size.
	Ctx int
	// EvalRows caps the test rows (windows) scored per evaluation (0 =
	// all), so that evaluation cost is bounded and fixed; they are spread
	// evenly over the test split.
	EvalRows int
	// TrainMaskRate is the share of positions masked in the training
	// draws of a Masked task (Train, Sample); 0 means MaskRate.
	// Evaluation (Validation, Test) always masks MaskRate, so scores
	// stay comparable whatever the training rate.
	TrainMaskRate float64
}

// BERT special ids (bert-uncased WordPiece), used when a file's metadata
// does not give them.
const (
	DefaultPad  = 0
	DefaultCls  = 101
	DefaultSep  = 102
	DefaultMask = 103
)

// MaskRate is the share of non-special positions chosen per Masked row.
const MaskRate = 0.15

// Task is one domain of a sequence. It implements methods.TaskData.
// Its methods are safe for concurrent use.
type Task struct {
	Spec       Spec
	Idx        int // position in the sequence
	NumClasses int // for Classify; 0 otherwise

	meta              datasets.Meta
	train, val, test  *split
	width             int // T of a batch
	cls, sep, msk, pd int32
	bert              bool // wrap Classify rows in [CLS] ... [SEP]
	pixels            bool
	maskSeed          uint64

	mu    sync.Mutex
	tests map[int][]*models.Batch // Test batches by batch size
}

// Index is the task's position in the sequence.
func (t *Task) Index() int { return t.Idx }

// MaskID is the [MASK] id that masked-token batches put in their
// inputs (meaningful for the Masked objective only).
func (t *Task) MaskID() int32 { return t.msk }

// Name is the task's domain.
func (t *Task) Name() string { return t.Spec.Domain }

// Classes is NumClasses (the number of label classes; 0 unless
// classifying).
func (t *Task) Classes() int { return t.NumClasses }

// Meta is the metadata of the task's training file (a copy).
func (t *Task) Meta() datasets.Meta {
	m := t.meta
	m.Labels = append([]string(nil), m.Labels...)
	if m.Extra != nil {
		m.Extra = maps.Clone(m.Extra)
	}
	return m
}

// Width is T, the length of every batch row (Ctx, or the image size).
func (t *Task) Width() int { return t.width }

// NumTrain is the number of training examples (windows or rows) in one
// epoch.
func (t *Task) NumTrain() int { return t.train.n }

// NumTest is the number of test examples Test scores (after EvalRows).
func (t *Task) NumTest() int { return len(t.testIndex()) }

// Open opens a task: the train, validation and test files of
// spec.Domain, which must agree on tokenizer, vocabulary and labels and
// each hold at least one example. index is the task's position in its
// sequence (Task[b] of every batch row).
func Open(spec Spec, index int) (*Task, error) {
	t := &Task{Spec: spec, Idx: index, tests: map[int][]*models.Batch{}}
	if err := t.open(); err != nil {
		t.Close()
		return nil, fmt.Errorf("task %d (%s): %w", index, spec.Domain, err)
	}
	return t, nil
}

func (t *Task) open() error {
	spec := t.Spec
	if spec.Domain == "" {
		return errors.New("no domain")
	}
	if spec.EvalRows < 0 {
		return fmt.Errorf("EvalRows %d < 0", spec.EvalRows)
	}
	if r := spec.TrainMaskRate; r < 0 || r > 1 || math.IsNaN(r) {
		return fmt.Errorf("TrainMaskRate %v outside [0, 1]", r)
	}
	var metas [3]datasets.Meta
	for i, name := range []string{datasets.Train, datasets.Validation, datasets.Test} {
		path := datasets.FilePath(spec.Dir, spec.Tokenizer, spec.Domain, name)
		r, err := datasets.Open(path)
		if err != nil {
			return err
		}
		s := &split{r: r, path: path}
		switch i {
		case 0:
			t.train = s
		case 1:
			t.val = s
		case 2:
			t.test = s
		}
		metas[i] = r.Meta()
		m := metas[i]
		if m.Tokenizer != spec.Tokenizer {
			return fmt.Errorf("%s: tokenizer %q, want %q", path, m.Tokenizer, spec.Tokenizer)
		}
		if i > 0 && (m.VocabSize != metas[0].VocabSize || fmt.Sprint(m.Labels) != fmt.Sprint(metas[0].Labels)) {
			return fmt.Errorf("%s: vocabulary %d and labels %q differ from the train file's (%d, %q)",
				path, m.VocabSize, m.Labels, metas[0].VocabSize, metas[0].Labels)
		}
	}
	t.meta = metas[0]
	m := t.meta
	t.pixels = m.Tokenizer == datasets.TokenizerPixels
	t.bert = m.Tokenizer == datasets.BERTUncased || m.Tokenizer == datasets.BERTTiny
	var err error
	if t.cls, err = special(m, datasets.ExtraClsID, DefaultCls); err != nil {
		return err
	}
	if t.msk, err = special(m, datasets.ExtraMaskID, DefaultMask); err != nil {
		return err
	}
	if t.pd, err = special(m, datasets.ExtraPadID, DefaultPad); err != nil {
		return err
	}
	if t.sep, err = special(m, datasets.ExtraSepID, DefaultSep); err != nil {
		return err
	}
	sep, hasSep, _ := m.ExtraID(datasets.ExtraSepID)
	h := fnv.New64a()
	h.Write([]byte(spec.Domain))
	t.maskSeed = h.Sum64()

	var win int // tokens per window; 0 = one example per row
	switch spec.Objective {
	case models.NextToken:
		if t.pixels {
			return errors.New("images (tokenizer pixels) take the Classify objective only")
		}
		if spec.Ctx < 1 {
			return fmt.Errorf("window length spec.Ctx = %d, want at least 1", spec.Ctx)
		}
		win, t.width = spec.Ctx+1, spec.Ctx
	case models.Masked:
		if t.pixels {
			return errors.New("images (tokenizer pixels) take the Classify objective only")
		}
		if !t.bert && (m.Extra[datasets.ExtraClsID] == "" || m.Extra[datasets.ExtraMaskID] == "") {
			return fmt.Errorf("%s: masked-token objective on tokenizer %q, which has no [CLS] and [MASK] ids (metadata %s%s, %s%s)",
				t.train.path, m.Tokenizer, datasets.KeyPrefix, datasets.ExtraClsID, datasets.KeyPrefix, datasets.ExtraMaskID)
		}
		if spec.Ctx < 3 {
			return fmt.Errorf("window length spec.Ctx = %d, want at least 3 (a masked row holds [CLS], [SEP] and a token)", spec.Ctx)
		}
		win, t.width = spec.Ctx-2, spec.Ctx
	case models.Classify:
		if len(m.Labels) < 2 {
			return fmt.Errorf("classification needs labelled files; %s has %d label names", t.train.path, len(m.Labels))
		}
		t.NumClasses = len(m.Labels)
		if !t.pixels {
			least := 1
			if t.bert {
				least = 3
			}
			if spec.Ctx < least {
				return fmt.Errorf("window length spec.Ctx = %d, want at least %d", spec.Ctx, least)
			}
			t.width = spec.Ctx
		}
	default:
		return fmt.Errorf("unknown objective %d", spec.Objective)
	}
	for _, s := range []*split{t.train, t.val, t.test} {
		s.win, s.sep, s.hasSep = win, sep, hasSep
		if err := s.index(); err != nil {
			return err
		}
		if t.pixels {
			if t.width == 0 {
				t.width = s.rowLen
			}
			if s.rowLen < 0 {
				return fmt.Errorf("%s: image rows differ in length", s.path)
			}
			if s.rowLen != t.width {
				return fmt.Errorf("%s: images of %d pixels, the train file's have %d", s.path, s.rowLen, t.width)
			}
		}
		if s.n == 0 {
			return fmt.Errorf("%s: %d tokens, fewer than one window of %d", s.path, s.total, win)
		}
	}
	return nil
}

// special is the id under Extra key name, or def.
func special(m datasets.Meta, name string, def int32) (int32, error) {
	id, ok, err := m.ExtraID(name)
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	return id, nil
}

// Close releases open files.
func (t *Task) Close() error {
	var errs []error
	for _, s := range []*split{t.train, t.val, t.test} {
		if s != nil {
			errs = append(errs, s.r.Close())
		}
	}
	return errors.Join(errs...)
}

// Sample draws n random training examples (distinct when the split has at
// least n) as one batch (methods.TaskData).
func (t *Task) Sample(rng *rand.Rand, n int) (*models.Batch, error) {
	return t.batch(t.train, draw(rng, t.train.n, n), rng, nil, t.trainRate())
}

// Validation draws n random validation examples as one batch.
func (t *Task) Validation(rng *rand.Rand, n int) (*models.Batch, error) {
	return t.batch(t.val, draw(rng, t.val.n, n), rng, nil, MaskRate)
}

// draw picks n of [0, total) at random, distinct when n <= total.
func draw(rng *rand.Rand, total, n int) []int {
	idx := make([]int, n)
	if n > total || n > total/4 {
		if n > total {
			for i := range idx {
				idx[i] = rng.IntN(total)
			}
			return idx
		}
		p := rng.Perm(total)
		copy(idx, p)
		return idx
	}
	seen := make(map[int]bool, n)
	for i := range idx {
		k := rng.IntN(total)
		for seen[k] {
			k = rng.IntN(total)
		}
		seen[k] = true
		idx[i] = k
	}
	return idx
}

// Stream yields training batches.
type Stream interface {
	Next() (*models.Batch, error)
}

// Train returns an endless stream of training batches of batchSize
// examples: every epoch visits each example once, in an order shuffled
// by rng; a batch may span two epochs.
func (t *Task) Train(rng *rand.Rand, batchSize int) Stream {
	return &stream{t: t, rng: rng, size: batchSize}
}

type stream struct {
	t     *Task
	rng   *rand.Rand
	size  int
	order []int
	pos   int
}

// Next returns the next batch.
func (s *stream) Next() (*models.Batch, error) {
	if s.size <= 0 {
		return nil, fmt.Errorf("task %s: batch size %d", s.t.Name(), s.size)
	}
	idx := make([]int, 0, s.size)
	for len(idx) < s.size {
		if s.pos == len(s.order) {
			s.order = s.t.train.epoch(s.rng)
			s.pos = 0
		}
		k := min(s.size-len(idx), len(s.order)-s.pos)
		idx = append(idx, s.order[s.pos:s.pos+k]...)
		s.pos += k
	}
	return s.t.batch(s.t.train, idx, s.rng, nil, s.t.trainRate())
}

// testIndex is the test examples scored: all, or EvalRows spread evenly.
func (t *Task) testIndex() []int {
	n, k := t.test.n, t.Spec.EvalRows
	if k == 0 || k >= n {
		k = n
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = int(int64(i) * int64(n) / int64(k))
	}
	return idx
}

// Test returns the fixed evaluation batches of the test split: the same
// rows and, for Masked, the same masks on every call and in every run
// (masks are drawn from a seed fixed by the domain name and the example).
// The batches are cached and shared: callers must not modify them.
func (t *Task) Test(batchSize int) ([]*models.Batch, error) {
	if batchSize <= 0 {
		return nil, fmt.Errorf("task %s: batch size %d", t.Name(), batchSize)
	}
	t.mu.Lock()
	bs, ok := t.tests[batchSize]
	t.mu.Unlock()
	if ok {
		return bs, nil
	}
	idx := t.testIndex()
	for lo := 0; lo < len(idx); lo += batchSize {
		b, err := t.batch(t.test, idx[lo:min(lo+batchSize, len(idx))], nil, &t.maskSeed, MaskRate)
		if err != nil {
			return nil, err
		}
		bs = append(bs, b)
	}
	t.mu.Lock()
	t.tests[batchSize] = bs
	t.mu.Unlock()
	return bs, nil
}

// Sequence is tasks in training order.
type Sequence []*Task

// OpenSequence opens the tasks of specs in order (task i has Idx i); on
// an error it closes those already open.
func OpenSequence(specs []Spec) (Sequence, error) {
	var seq Sequence
	for i, s := range specs {
		t, err := Open(s, i)
		if err != nil {
			seq.Close()
			return nil, err
		}
		seq = append(seq, t)
	}
	return seq, nil
}

// Close closes every task.
func (s Sequence) Close() error {
	var errs []error
	for _, t := range s {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}

// trainRate is the mask rate of training draws.
func (t *Task) trainRate() float64 {
	if t.Spec.TrainMaskRate > 0 {
		return t.Spec.TrainMaskRate
	}
	return MaskRate
}
