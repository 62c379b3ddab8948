package suite

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/sleepbench/sleepbench/bench"
	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/tasks"
)

// The image suites (split and permuted MNIST) read the MNIST Arrow files
// once through package tasks (Classify batches of Features = pixel/255)
// and keep the pixels in memory as bytes. Package tasks serves a whole
// domain as one task; a suite needs tasks that are a label subset of the
// domain (split MNIST) or the whole domain under a pixel permutation
// (permuted MNIST), so imageTask below wraps the rows read through tasks
// and implements Task (and so methods.TaskData) itself.

// Image geometry and input normalisation of Hsu et al. 2018 (their
// dataloaders/base.py): each 28×28 image is zero-padded by 2 pixels to
// 32×32, scaled to [0, 1] and normalised with mean 0.1000 and standard
// deviation 0.2752 (their statistics of the padded images).
const (
	mnistSide   = 28
	suitePad    = 2
	suiteSide   = mnistSide + 2*suitePad
	suiteInputs = suiteSide * suiteSide // 1024 features per image
	suiteMean   = 0.1000
	suiteStd    = 0.2752
)

// imageSet is one split of MNIST: n images of 28×28 pixel bytes and their
// digit labels.
type imageSet struct {
	pix    []uint8 // n × 784, row-major
	labels []int32
}

func (s *imageSet) len() int { return len(s.labels) }

// mnistData is the train, validation and test splits of MNIST.
type mnistData struct {
	train, val, test imageSet
}

// loadMNIST reads the three MNIST files of dir (tokenizer "pixels",
// domain "mnist") through package tasks and keeps their pixels and labels
// in memory (the full files take 55 MB as bytes). The order of the rows
// within a split is fixed (a shuffle by a fixed seed for train and
// validation, file order for test), so the same files always give the
// same pools.
func loadMNIST(dir string) (*mnistData, error) {
	spec := tasks.Spec{Dir: dir, Domain: datasets.DomainMNIST, Tokenizer: datasets.TokenizerPixels, Objective: models.Classify}
	t, err := tasks.Open(spec, 0)
	if err != nil {
		return nil, fmt.Errorf("image suite: %w (build the full files with: sleepbench data build -only mnist)", err)
	}
	defer t.Close()
	if t.Width() != mnistSide*mnistSide {
		return nil, fmt.Errorf("image suite: %s: images of %d pixels, want %d (28×28)", dir, t.Width(), mnistSide*mnistSide)
	}
	if t.Classes() != 10 {
		return nil, fmt.Errorf("image suite: %s: %d label classes, want the 10 digits", dir, t.Classes())
	}
	d := &mnistData{}
	rng := rand.New(rand.NewPCG(0, 0x6d6e697374)) // fixed: the pool order, not a run's randomness
	b, err := t.Train(rng, t.NumTrain()).Next()   // one epoch: every training row once
	if err != nil {
		return nil, fmt.Errorf("image suite: reading the training rows: %w", err)
	}
	if d.train, err = toImageSet(b, "train"); err != nil {
		return nil, err
	}
	valPath := datasets.FilePath(dir, datasets.TokenizerPixels, datasets.DomainMNIST, datasets.Validation)
	r, err := datasets.Open(valPath)
	if err != nil {
		return nil, fmt.Errorf("image suite: %w", err)
	}
	nval := int(r.NumRows())
	r.Close()
	if b, err = t.Validation(rng, nval); err != nil { // nval of nval rows: all, distinct
		return nil, fmt.Errorf("image suite: reading the validation rows: %w", err)
	}
	if d.val, err = toImageSet(b, "validation"); err != nil {
		return nil, err
	}
	bs, err := t.Test(t.NumTest())
	if err != nil {
		return nil, fmt.Errorf("image suite: reading the test rows: %w", err)
	}
	for _, b := range bs {
		s, err := toImageSet(b, "test")
		if err != nil {
			return nil, err
		}
		d.test.pix = append(d.test.pix, s.pix...)
		d.test.labels = append(d.test.labels, s.labels...)
	}
	return d, nil
}

// toImageSet turns a Classify batch of pixel features (v/255) back into
// bytes.
func toImageSet(b *models.Batch, split string) (imageSet, error) {
	const n = mnistSide * mnistSide
	if b.T != n || len(b.Features) != b.B*n || len(b.Targets) != b.B {
		return imageSet{}, fmt.Errorf("image suite: %s batch of %d rows × %d features, want rows of %d", split, b.B, b.T, n)
	}
	s := imageSet{pix: make([]uint8, len(b.Features)), labels: append([]int32(nil), b.Targets[:b.B]...)}
	for i, f := range b.Features {
		v := math.Round(float64(f) * 255)
		if v < 0 || v > 255 {
			return imageSet{}, fmt.Errorf("image suite: %s row %d: pixel %v outside [0, 1]", split, i/n, f)
		}
		s.pix[i] = uint8(v)
	}
	for i, y := range s.labels {
		if y < 0 || y > 9 {
			return imageSet{}, fmt.Errorf("image suite: %s row %d: label %d is not a digit", split, i, y)
		}
	}
	return s, nil
}

// pixelValue maps a pixel byte to its normalised input; padValue is the
// input of a padding pixel (byte 0).
var pixelValue = func() (t [256]float32) {
	for v := range t {
		t[v] = float32((float64(v)/255 - suiteMean) / suiteStd)
	}
	return t
}()

// imageTask is one task of an image suite: the rows of some digits of
// MNIST (split MNIST) or all of them (permuted MNIST), with labels mapped
// for the scenario and an optional fixed permutation of the input
// features. It implements Task. Batches have Features of suiteInputs
// values per row, Targets the mapped labels and Task the task's index
// (the head of a multi-head model).
type imageTask struct {
	idx     int
	name    string
	classes int       // the number of classes of the task's head
	digits  []int32   // the digits of the task, in label order
	label   [10]int32 // digit → target (−1 for digits not in the task)
	perm    []int     // nil, or feature i of a row is padded feature perm[i]
	outputs int       // Batch.Outputs of training batches (Train, Sample); 0 = all
	raw     bool      // Buzzega et al.'s inputs: the 784 pixels / 255, unpadded, not normalised
	rot     []int     // nil, or the rotation of raw images: pixel j of a row is image pixel rot[j] (0 where rot[j] < 0)
	degrees float64   // the angle of rot (counter-clockwise), for the record
	data    *mnistData
	// Indices of the task's rows in data's splits.
	train, val, test []int

	mu    sync.Mutex
	tests map[int][]*models.Batch
}

// newImageTask selects the rows of data whose digit has a label ≥ 0 in
// label.
func newImageTask(data *mnistData, idx int, name string, classes int, label [10]int32, perm []int, raw bool) (*imageTask, error) {
	t := &imageTask{idx: idx, name: name, classes: classes, label: label, perm: perm, raw: raw, data: data, tests: map[int][]*models.Batch{}}
	for d, y := range label {
		if y >= int32(classes) {
			return nil, fmt.Errorf("task %s: digit %d has label %d, the head has %d classes", name, d, y, classes)
		}
		if y >= 0 {
			t.digits = append(t.digits, int32(d))
		}
	}
	if perm != nil && len(perm) != t.width() {
		return nil, fmt.Errorf("task %s: permutation of %d features, want %d", name, len(perm), t.width())
	}
	pick := func(s *imageSet) []int {
		var idx []int
		for i, y := range s.labels {
			if label[y] >= 0 {
				idx = append(idx, i)
			}
		}
		return idx
	}
	t.train, t.val, t.test = pick(&data.train), pick(&data.val), pick(&data.test)
	for _, p := range []struct {
		split string
		n     int
	}{{datasets.Train, len(t.train)}, {datasets.Validation, len(t.val)}, {datasets.Test, len(t.test)}} {
		if p.n == 0 {
			return nil, fmt.Errorf("task %s: no %s rows of digits %v", name, p.split, t.digits)
		}
	}
	return t, nil
}

// width is the number of input features of a row.
func (t *imageTask) width() int {
	if t.raw {
		return mnistSide * mnistSide
	}
	return suiteInputs
}

// Index is the task's position in its sequence.
func (t *imageTask) Index() int { return t.idx }

// Name names the task, e.g. "mnist-23" or "mnist-perm4".
func (t *imageTask) Name() string { return t.name }

// Classes is the number of classes of the task's head.
func (t *imageTask) Classes() int { return t.classes }

// NumTrain is the number of training rows.
func (t *imageTask) NumTrain() int { return len(t.train) }

// Close does nothing: the rows are shared and held in memory.
func (t *imageTask) Close() error { return nil }

// Sample draws n training rows at random (distinct when the task has at
// least n) as one batch, with the task's Outputs (as training batches).
func (t *imageTask) Sample(rng *rand.Rand, n int) (*models.Batch, error) {
	if n <= 0 {
		return nil, fmt.Errorf("task %s: sample of %d rows", t.name, n)
	}
	b := t.batch(&t.data.train, pickRows(rng, t.train, n))
	b.Outputs = t.outputs
	return b, nil
}

// Validation draws n validation rows at random (distinct when the task
// has at least n) as one batch.
func (t *imageTask) Validation(rng *rand.Rand, n int) (*models.Batch, error) {
	if n <= 0 {
		return nil, fmt.Errorf("task %s: validation sample of %d rows", t.name, n)
	}
	return t.batch(&t.data.val, pickRows(rng, t.val, n)), nil
}

// pickRows draws n of rows, distinct when n ≤ len(rows).
func pickRows(rng *rand.Rand, rows []int, n int) []int {
	out := make([]int, n)
	if n > len(rows) {
		for i := range out {
			out[i] = rows[rng.IntN(len(rows))]
		}
		return out
	}
	p := append([]int(nil), rows...)
	for i := 0; i < n; i++ { // partial Fisher–Yates
		j := i + rng.IntN(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	copy(out, p[:n])
	return out
}

// Train returns the task's training stream: epochs of the task's rows in
// an order shuffled by rng, cut into batches of batchSize rows; the last
// batch of an epoch holds the remainder (as a PyTorch DataLoader with
// shuffle and without drop_last), so ceil(N/batchSize) steps are one
// epoch. The batches carry the task's Outputs (the output mask of the
// class scenario with SuiteOptions.MaskUnseen; 0 otherwise).
func (t *imageTask) Train(rng *rand.Rand, batchSize int) tasks.Stream {
	return &imageStream{t: t, rng: rng, size: batchSize}
}

type imageStream struct {
	t    *imageTask
	rng  *rand.Rand
	size int
	rows epoch[int]
}

// epoch hands out the items of an order in chunks, shuffling the order
// with rng at the start of every pass; build makes it on first use.
type epoch[T any] struct {
	order []T
	pos   int
}

// next returns the next at most n items, starting a new shuffled pass
// when the last one is used up.
func (e *epoch[T]) next(rng *rand.Rand, n int, build func() []T) []T {
	if e.pos == len(e.order) {
		if e.order == nil {
			e.order = build()
		}
		rng.Shuffle(len(e.order), func(i, j int) { e.order[i], e.order[j] = e.order[j], e.order[i] })
		e.pos = 0
	}
	k := min(n, len(e.order)-e.pos)
	out := e.order[e.pos : e.pos+k]
	e.pos += k
	return out
}

// Next returns the next batch of the epoch, starting a new shuffled
// epoch when the last one is used up.
func (s *imageStream) Next() (*models.Batch, error) {
	if s.size <= 0 {
		return nil, fmt.Errorf("task %s: batch size %d", s.t.name, s.size)
	}
	rows := s.rows.next(s.rng, s.size, func() []int { return append([]int(nil), s.t.train...) })
	b := s.t.batch(&s.t.data.train, rows)
	b.Outputs = s.t.outputs
	return b, nil
}

// Test returns the task's test rows, in a fixed order, as batches of at
// most batchSize rows. They are cached and shared: callers must not
// modify them.
func (t *imageTask) Test(batchSize int) ([]*models.Batch, error) {
	if batchSize <= 0 {
		return nil, fmt.Errorf("task %s: batch size %d", t.name, batchSize)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if bs, ok := t.tests[batchSize]; ok {
		return bs, nil
	}
	var bs []*models.Batch
	for lo := 0; lo < len(t.test); lo += batchSize {
		bs = append(bs, t.batch(&t.data.test, t.test[lo:min(lo+batchSize, len(t.test))]))
	}
	t.tests[batchSize] = bs
	return bs, nil
}

// batch builds the batch of rows idx of s: padded, normalised and
// permuted (or rotated) features, mapped labels, and the task's index.
func (t *imageTask) batch(s *imageSet, idx []int) *models.Batch {
	B, W := len(idx), t.width()
	b := &models.Batch{Objective: models.Classify, B: B, T: W,
		Features: make([]float32, B*W), Targets: make([]int32, B), Task: make([]int, B)}
	scratch := t.scratch()
	for i, k := range idx {
		t.fillRow(b, i, s, k, scratch)
	}
	return b
}

// scratch returns the buffer fillRow needs (nil when it needs none).
func (t *imageTask) scratch() []float32 {
	if t.perm != nil {
		return make([]float32, t.width())
	}
	return nil
}

// fillRow writes row k of s as row i of b: its features, its mapped
// label and the task's index. scratch is t.scratch().
func (t *imageTask) fillRow(b *models.Batch, i int, s *imageSet, k int, scratch []float32) {
	W := t.width()
	row := b.Features[i*W : (i+1)*W]
	dst := row
	if t.perm != nil {
		dst = scratch
	}
	pix := s.pix[k*mnistSide*mnistSide : (k+1)*mnistSide*mnistSide]
	switch {
	case t.rot != nil:
		for j, p := range t.rot {
			if p >= 0 {
				dst[j] = float32(pix[p]) / 255
			} else {
				dst[j] = 0
			}
		}
	case t.raw:
		for j, v := range pix {
			dst[j] = float32(v) / 255
		}
	default:
		fillPadded(dst, pix)
	}
	if t.perm != nil {
		for j, p := range t.perm {
			row[j] = scratch[p]
		}
	}
	b.Targets[i] = t.label[s.labels[k]]
	b.Task[i] = t.idx
}

// fillPadded writes the 32×32 normalised input of a 28×28 image.
func fillPadded(dst []float32, pix []uint8) {
	pad := pixelValue[0]
	for i := range dst {
		dst[i] = pad
	}
	for r := 0; r < mnistSide; r++ {
		out := dst[(r+suitePad)*suiteSide+suitePad:]
		for c, v := range pix[r*mnistSide : (r+1)*mnistSide] {
			out[c] = pixelValue[v]
		}
	}
}

// *imageTask is a Task.
var _ bench.Task = (*imageTask)(nil)

// jointTask is the last task of a sequence as Buzzega et al.'s joint
// baseline trains it in Domain-IL (their models/joint.py): its training
// stream goes through the union of every task's training rows, each under
// its own task's permutation or rotation, shuffled anew every epoch and
// cut into batches (the last one of an epoch partial), where the other
// methods see the last task's rows alone. Everything else (test rows,
// samples, index, name) is the last task's.
type jointTask struct {
	*imageTask
	all []*imageTask
}

// Train returns the stream over the union of the tasks' rows.
func (j *jointTask) Train(rng *rand.Rand, batchSize int) tasks.Stream {
	return &jointStream{j: j, rng: rng, size: batchSize}
}

type jointStream struct {
	j    *jointTask
	rng  *rand.Rand
	size int
	rows epoch[[2]int32] // (task, row of the task's training split)
}

// Next returns the next batch of the epoch over the union.
func (s *jointStream) Next() (*models.Batch, error) {
	if s.size <= 0 {
		return nil, fmt.Errorf("task %s: batch size %d", s.j.name, s.size)
	}
	rows := s.rows.next(s.rng, s.size, func() [][2]int32 {
		var all [][2]int32
		for ti, t := range s.j.all {
			for _, k := range t.train {
				all = append(all, [2]int32{int32(ti), int32(k)})
			}
		}
		return all
	})
	n := len(rows)
	W := s.j.width()
	b := &models.Batch{Objective: models.Classify, B: n, T: W,
		Features: make([]float32, n*W), Targets: make([]int32, n), Task: make([]int, n)}
	scratch := s.j.scratch()
	for i, r := range rows {
		t := s.j.all[r[0]]
		t.fillRow(b, i, &t.data.train, int(r[1]), scratch)
	}
	b.Outputs = s.j.outputs
	return b, nil
}

// *jointTask is a Task.
var _ bench.Task = (*jointTask)(nil)
