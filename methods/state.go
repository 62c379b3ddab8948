package methods

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// Checkpointer is implemented by a method whose state can be saved in the
// middle of a run and restored in another process, so that a run that is
// killed resumes from its last checkpoint and ends bit-identical to an
// uninterrupted one (package bench saves one at every task boundary and
// every checkpoint_every wake steps).
//
// The state is everything the method carries from one hook call to the
// next: buffers and their counters, anchors, priorities, step counters.
// Not its settings (the restored method is built from the same Config)
// and not env.RNG (the harness saves that stream itself).
//
// Every registered method must implement it: the conformance suite
// (methods/methodtest) fails a method that does not, and checks that a
// run cut at a checkpoint and restored into a fresh instance ends with
// the same parameters, bit for bit, as the run that was not cut. A method
// without state implements it with an empty state (see naive).
type Checkpointer interface {
	// MarshalState returns the method's state between two hook calls.
	MarshalState() ([]byte, error)
	// UnmarshalState restores data, from MarshalState of a method built
	// with the same Config, into a method fresh from its factory. env is
	// the run's environment as it was when the state was saved (its model
	// gives the parameter layout).
	UnmarshalState(env *Env, data []byte) error
}

// stateWriter encodes a method's state: little-endian fixed-size numbers,
// lengths before slices (−1 for a nil slice, so that nil and empty
// survive the round trip: several hooks test for nil).
type stateWriter struct{ buf bytes.Buffer }

func newStateWriter(tag string) *stateWriter {
	w := &stateWriter{}
	w.String(tag)
	return w
}

func (w *stateWriter) Uint64(x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	w.buf.Write(b[:])
}

func (w *stateWriter) Int(x int)         { w.Uint64(uint64(int64(x))) }
func (w *stateWriter) Float64(x float64) { w.Uint64(math.Float64bits(x)) }

func (w *stateWriter) Bool(x bool) {
	if x {
		w.buf.WriteByte(1)
	} else {
		w.buf.WriteByte(0)
	}
}

func (w *stateWriter) String(s string) {
	w.Int(len(s))
	w.buf.WriteString(s)
}

// length writes a slice's length, −1 for nil.
func length[T any](w *stateWriter, s []T) {
	if s == nil {
		w.Int(-1)
		return
	}
	w.Int(len(s))
}

func (w *stateWriter) Float32s(s []float32) {
	length(w, s)
	for _, x := range s {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		w.buf.Write(b[:])
	}
}

func (w *stateWriter) Float64s(s []float64) {
	length(w, s)
	for _, x := range s {
		w.Float64(x)
	}
}

func (w *stateWriter) Int32s(s []int32) {
	length(w, s)
	for _, x := range s {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(x))
		w.buf.Write(b[:])
	}
}

func (w *stateWriter) Ints(s []int) {
	length(w, s)
	for _, x := range s {
		w.Int(x)
	}
}

// Batch writes every field of b (nil as a nil batch).
func (w *stateWriter) Batch(b *models.Batch) {
	w.Bool(b != nil)
	if b == nil {
		return
	}
	w.Int(int(b.Objective))
	w.Int(b.B)
	w.Int(b.T)
	w.Int32s(b.Inputs)
	w.Float32s(b.Features)
	w.Ints(b.Lengths)
	w.Int32s(b.Targets)
	w.Ints(b.Task)
	w.Float32s(b.Weights)
	w.Int(b.Outputs)
}

func (w *stateWriter) Bytes() []byte { return w.buf.Bytes() }

// stateReader decodes what a stateWriter wrote. The first error sticks
// (later reads return zeros), so a decoder reads everything and checks
// Err once.
type stateReader struct {
	data []byte
	off  int
	err  error
}

// newStateReader checks that data starts with tag (the method it was
// written for and the version of its layout).
func newStateReader(data []byte, tag string) *stateReader {
	r := &stateReader{data: data}
	if got := r.String(); r.err == nil && got != tag {
		r.err = fmt.Errorf("state was written as %q, want %q", got, tag)
	}
	return r
}

func (r *stateReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.data)-r.off {
		r.err = fmt.Errorf("state truncated at byte %d (want %d more of %d)", r.off, n, len(r.data))
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *stateReader) Uint64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *stateReader) Int() int         { return int(int64(r.Uint64())) }
func (r *stateReader) Float64() float64 { return math.Float64frombits(r.Uint64()) }

func (r *stateReader) Bool() bool {
	b := r.take(1)
	return b != nil && b[0] == 1
}

func (r *stateReader) String() string { return string(r.take(r.count(1))) }

// count reads a slice length and checks that size bytes per element fit
// in what is left; −1 (nil) comes back as −1.
func (r *stateReader) count(size int) int {
	n := r.Int()
	if r.err != nil || n == -1 {
		return n
	}
	if n < 0 || n > (len(r.data)-r.off)/size {
		r.err = fmt.Errorf("state corrupt at byte %d: length %d", r.off, n)
		return 0
	}
	return n
}

func (r *stateReader) Float32s() []float32 {
	n := r.count(4)
	if n < 0 || r.err != nil {
		return nil
	}
	s := make([]float32, n)
	for i := range s {
		s[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.take(4)))
	}
	return s
}

func (r *stateReader) Float64s() []float64 {
	n := r.count(8)
	if n < 0 || r.err != nil {
		return nil
	}
	s := make([]float64, n)
	for i := range s {
		s[i] = r.Float64()
	}
	return s
}

func (r *stateReader) Int32s() []int32 {
	n := r.count(4)
	if n < 0 || r.err != nil {
		return nil
	}
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(binary.LittleEndian.Uint32(r.take(4)))
	}
	return s
}

func (r *stateReader) Ints() []int {
	n := r.count(8)
	if n < 0 || r.err != nil {
		return nil
	}
	s := make([]int, n)
	for i := range s {
		s[i] = r.Int()
	}
	return s
}

func (r *stateReader) Batch() *models.Batch {
	if !r.Bool() {
		return nil
	}
	b := &models.Batch{Objective: models.Objective(r.Int()), B: r.Int(), T: r.Int()}
	b.Inputs = r.Int32s()
	b.Features = r.Float32s()
	b.Lengths = r.Ints()
	b.Targets = r.Int32s()
	b.Task = r.Ints()
	b.Weights = r.Float32s()
	b.Outputs = r.Int()
	return b
}

// Err is the first error met, or one saying that bytes were left over.
func (r *stateReader) Err() error {
	if r.err == nil && r.off != len(r.data) {
		return fmt.Errorf("state has %d bytes left over after byte %d", len(r.data)-r.off, r.off)
	}
	return r.err
}

// params writes a parameter-sized buffer.
func (w *stateWriter) params(p *models.Params) { w.Float32s(p.Data) }

// params reads a buffer written by stateWriter.params into a new Params
// of like's layout.
func (r *stateReader) params(like *models.Params) *models.Params {
	d := r.Float32s()
	if r.err != nil {
		return nil
	}
	if len(d) != len(like.Data) {
		r.err = fmt.Errorf("a saved parameter buffer has %d values, the model %d", len(d), len(like.Data))
		return nil
	}
	p := like.Like()
	copy(p.Data, d)
	return p
}

// writeReservoir writes a reservoir's capacity, the items offered and
// the items held, then each held item by item.
func writeReservoir[T any](w *stateWriter, res *Reservoir[T], item func(T)) {
	w.Int(res.capacity)
	w.Uint64(uint64(res.seen))
	w.Int(len(res.items))
	for _, e := range res.items {
		item(e)
	}
}

// readReservoir reads what writeReservoir wrote, checked against res's
// capacity, reading each item with item (i is its index, for errors). It
// returns the items and the count offered and leaves res alone, so that
// a caller commits them only when its whole state has decoded.
func readReservoir[T any](r *stateReader, res *Reservoir[T], item func(i int) T) (items []T, seen int64) {
	capacity := r.Int()
	seen = int64(r.Uint64())
	n := r.count(1)
	if r.err == nil && (capacity != res.capacity || n < 0 || n > capacity || int64(n) > seen) {
		r.err = fmt.Errorf("saved buffer holds %d of %d rows after %d offered; this method's buffer has %d (was it built with another buffer setting?)", n, capacity, seen, res.capacity)
	}
	items = make([]T, 0, res.capacity)
	for i := 0; i < n && r.err == nil; i++ {
		items = append(items, item(i))
	}
	return items, seen
}

// storedRow writes a buffered row and its shape.
func (w *stateWriter) storedRow(row *models.Batch, s Shape) {
	w.Batch(row)
	w.Int(int(s.Objective))
	w.Int(s.T)
	w.Bool(s.Features)
}

// storedRow reads what storedRow wrote; a missing row is an error
// naming buffered row i.
func (r *stateReader) storedRow(i int) (*models.Batch, Shape) {
	row := r.Batch()
	s := Shape{Objective: models.Objective(r.Int()), T: r.Int(), Features: r.Bool()}
	if r.err == nil && row == nil {
		r.err = fmt.Errorf("saved buffer row %d is missing", i)
	}
	return row, s
}

// memory's state: the reservoir's count and every stored row.
func (w *stateWriter) memory(m *memory) {
	writeReservoir(w, m.res, func(e entry) {
		w.storedRow(e.row, e.shape)
		w.Uint64(uint64(e.seq))
		w.Float64(e.stored)
	})
}

// memory restores m (built with the same capacity) from what
// stateWriter.memory wrote.
func (r *stateReader) memory(m *memory) {
	items, seen := readReservoir(r, m.res, func(i int) entry {
		e := entry{}
		e.row, e.shape = r.storedRow(i)
		e.seq = int64(r.Uint64())
		e.stored = r.Float64()
		return e
	})
	if r.err != nil {
		return
	}
	m.res.seen, m.res.items = seen, items
}

// naive is plain fine-tuning: Base's hooks and no state.
type naive struct{ Base }

func (naive) MarshalState() ([]byte, error) { return newStateWriter("naive/1").Bytes(), nil }

func (naive) UnmarshalState(_ *Env, data []byte) error {
	return newStateReader(data, "naive/1").Err()
}

// stateErr wraps a decoding error with the method's name.
func stateErr(method string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: restoring its state: %w", method, err)
}
