package datasets

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// magic starts and ends every Arrow IPC file.
var magic = []byte("ARROW1")

// Reader reads a dataset file one record batch at a time. Its methods are
// safe for concurrent use (decoding is serialised: the Arrow reader's
// RecordAt shares state between calls).
type Reader struct {
	mu     sync.Mutex // guards fr's decoding
	path   string
	file   *os.File // nil when reading from memory (tests)
	fr     *ipc.FileReader
	meta   Meta
	lens   []int64 // rows of each record batch
	rows   int64
	cols   [5]int // column indices of domain, split, text, input_ids, label
	nlabel int
}

// Open opens a dataset file and checks, before any row is read, that it
// is a complete Arrow IPC file (magic bytes, footer and the block table
// within the file), that it has the dataset columns with their types, and
// that its metadata is complete and of SchemaVersion. A file without rows
// is an error. Every error names the file and the problem.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		var r *Reader
		if r, err = open(path, f, st.Size()); err == nil {
			r.file = f
			return r, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("datasets: open %s: %w", path, err)
}

func open(path string, f ipc.ReadAtSeeker, size int64) (r *Reader, err error) {
	lens, err := checkFile(f, size)
	if err != nil {
		return nil, err
	}
	r = &Reader{path: path, lens: lens}
	for _, n := range lens {
		r.rows += n
	}
	// The checks above bound every size the Arrow reader allocates; a
	// malformed file may still make it panic, which is an error here.
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("malformed Arrow file: %v", p)
		}
	}()
	r.fr, err = ipc.NewFileReader(f, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		return nil, err
	}
	if r.fr.NumRecords() != len(lens) {
		return nil, fmt.Errorf("footer lists %d record batches, the reader found %d", len(lens), r.fr.NumRecords())
	}
	sc := r.fr.Schema()
	for i, name := range []string{ColDomain, ColSplit, ColText, ColInputIDs, ColLabel} {
		idx := sc.FieldIndices(name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("missing column %q (the schema has %s)", name, fieldNames(sc))
		}
		if len(idx) > 1 {
			return nil, fmt.Errorf("column %q appears %d times", name, len(idx))
		}
		fld := sc.Field(idx[0])
		if want, ok := typeOK(name, fld.Type); !ok {
			return nil, fmt.Errorf("column %q has type %s, want %s", name, fld.Type, want)
		}
		r.cols[i] = idx[0]
	}
	md := sc.Metadata()
	r.meta, err = metaFrom(md)
	if err != nil {
		return nil, err
	}
	r.nlabel = len(r.meta.Labels)
	if r.rows == 0 {
		return nil, fmt.Errorf("no rows: domain %q split %s is empty", r.meta.Domain, r.meta.Split)
	}
	return r, nil
}

func fieldNames(sc *arrow.Schema) string {
	var b bytes.Buffer
	for i, f := range sc.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", f.Name)
	}
	if b.Len() == 0 {
		return "no columns"
	}
	return "columns " + b.String()
}

// typeOK reports whether t is an accepted type for column name, and the
// expected type.
func typeOK(name string, t arrow.DataType) (string, bool) {
	switch name {
	case ColDomain, ColSplit:
		if t.ID() == arrow.STRING {
			return "", true
		}
		if d, ok := t.(*arrow.DictionaryType); ok && d.ValueType.ID() == arrow.STRING {
			return "", true
		}
		return "utf8 or dictionary<utf8>", false
	case ColText:
		return "utf8", t.ID() == arrow.STRING
	case ColInputIDs:
		l, ok := t.(*arrow.ListType)
		return "list<int32>", ok && l.Elem().ID() == arrow.INT32
	case ColLabel:
		return "int32", t.ID() == arrow.INT32
	}
	return "", false
}

// Meta returns the file's metadata.
func (r *Reader) Meta() Meta {
	m := r.meta
	m.Labels = append([]string(nil), m.Labels...)
	if m.Extra != nil {
		e := make(map[string]string, len(m.Extra))
		for k, v := range m.Extra {
			e[k] = v
		}
		m.Extra = e
	}
	return m
}

// Path is the file's path.
func (r *Reader) Path() string { return r.path }

// NumRows is the number of rows in the file.
func (r *Reader) NumRows() int64 { return r.rows }

// NumRecords is the number of record batches.
func (r *Reader) NumRecords() int { return len(r.lens) }

// RecordLen is the number of rows of record batch i, known without
// decoding it.
func (r *Reader) RecordLen(i int) int { return int(r.lens[i]) }

// Close closes the file; later calls do nothing. The Reader must not be
// used after Close.
func (r *Reader) Close() error {
	if r.fr != nil {
		r.fr.Close()
		r.fr = nil
	}
	if r.file == nil {
		return nil
	}
	f := r.file
	r.file = nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("datasets: close %s: %w", r.path, err)
	}
	return nil
}

// Records is one decoded record batch. Its accessors return views into
// the batch's memory (Go memory, kept alive by the views themselves).
type Records struct {
	n       int
	textOff []int32 // n+1 offsets into text
	text    string
	idOff   []int32 // n+1 offsets into ids
	ids     []int32
	labels  []int32
}

// Len is the number of rows.
func (b *Records) Len() int { return b.n }

// Text is row j's text.
func (b *Records) Text(j int) string { return b.text[b.textOff[j]:b.textOff[j+1]] }

// InputIDs is row j's token ids: a view, not to be modified (its capacity
// is cut so that append copies).
func (b *Records) InputIDs(j int) []int32 {
	lo, hi := b.idOff[j], b.idOff[j+1]
	return b.ids[lo:hi:hi]
}

// Label is row j's label (-1 for none).
func (b *Records) Label(j int) int32 { return b.labels[j] }

// AllIDs is every row's ids end to end (rows are contiguous in a record
// batch): a view, not to be modified.
func (b *Records) AllIDs() []int32 {
	lo, hi := b.idOff[0], b.idOff[b.n]
	return b.ids[lo:hi:hi]
}

// Tokens is the number of input ids in the batch.
func (b *Records) Tokens() int { return int(b.idOff[b.n] - b.idOff[0]) }

// Record decodes record batch i and checks it: no nulls, offsets within
// their buffers, ids in [0, VocabSize), labels in range.
func (r *Reader) Record(i int) (*Records, error) {
	if i < 0 || i >= len(r.lens) {
		return nil, fmt.Errorf("datasets: %s: record batch %d out of range [0, %d)", r.path, i, len(r.lens))
	}
	b, err := r.record(i)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: record batch %d: %w", r.path, i, err)
	}
	return b, nil
}

func (r *Reader) record(i int) (b *Records, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("malformed record batch: %v", p)
		}
	}()
	rec, err := r.recordAt(i)
	if err != nil {
		return nil, err
	}
	// The allocator is Go's: buffers are garbage-collected memory that
	// Release does not free, so the views below outlive the record.
	defer rec.Release()
	n := int(rec.NumRows())
	if int64(n) != r.lens[i] {
		return nil, fmt.Errorf("%d rows, the footer says %d", n, r.lens[i])
	}
	for _, c := range r.cols {
		col := rec.Column(c)
		if col.Len() != n {
			return nil, fmt.Errorf("column %q has %d rows, want %d", rec.ColumnName(c), col.Len(), n)
		}
		if col.NullN() != 0 {
			return nil, fmt.Errorf("column %q has %d nulls", rec.ColumnName(c), col.NullN())
		}
	}
	b = &Records{n: n}
	if n == 0 {
		b.textOff, b.idOff = []int32{0}, []int32{0}
		return b, nil
	}
	text := rec.Column(r.cols[2]).Data()
	if text.Offset() != 0 || len(text.Buffers()) != 3 {
		return nil, fmt.Errorf("column %q: unexpected layout", ColText)
	}
	b.textOff = arrow.Int32Traits.CastFromBytes(bufBytes(text.Buffers()[1]))
	b.text = string(bufBytes(text.Buffers()[2]))
	if err := checkOffsets(b.textOff, n, int64(len(b.text))); err != nil {
		return nil, fmt.Errorf("column %q: %w", ColText, err)
	}
	b.textOff = b.textOff[:n+1]
	list := rec.Column(r.cols[3]).(*array.List)
	if list.Data().Offset() != 0 {
		return nil, fmt.Errorf("column %q: unexpected layout", ColInputIDs)
	}
	child := list.ListValues().(*array.Int32)
	if child.NullN() != 0 {
		return nil, fmt.Errorf("column %q has %d null ids", ColInputIDs, child.NullN())
	}
	b.ids = child.Int32Values()
	b.idOff = list.Offsets()
	if err := checkOffsets(b.idOff, n, int64(len(b.ids))); err != nil {
		return nil, fmt.Errorf("column %q: %w", ColInputIDs, err)
	}
	b.idOff = b.idOff[:n+1]
	vocab := int32(r.meta.VocabSize)
	for j := 0; j < n; j++ {
		for k, id := range b.InputIDs(j) {
			if id < 0 || id >= vocab {
				return nil, fmt.Errorf("row %d: input id %d at position %d is outside the vocabulary [0, %d) of tokenizer %s",
					j, id, k, vocab, r.meta.Tokenizer)
			}
		}
	}
	b.labels = rec.Column(r.cols[4]).(*array.Int32).Int32Values()
	if len(b.labels) < n {
		return nil, fmt.Errorf("column %q holds %d values for %d rows", ColLabel, len(b.labels), n)
	}
	b.labels = b.labels[:n]
	for j, l := range b.labels {
		if r.nlabel > 0 && (l < 0 || int(l) >= r.nlabel) {
			return nil, fmt.Errorf("row %d: label %d outside [0, %d)", j, l, r.nlabel)
		}
		if r.nlabel == 0 && l != -1 {
			return nil, fmt.Errorf("row %d: label %d in a file without labels (want -1)", j, l)
		}
	}
	return b, nil
}

func bufBytes(b *memory.Buffer) []byte {
	if b == nil {
		return nil
	}
	return b.Bytes()
}

// recordAt decodes record batch i under the lock (released even when the
// Arrow reader panics on a malformed batch).
func (r *Reader) recordAt(i int) (arrow.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fr.RecordAt(i)
}

// checkOffsets checks that off holds n+1 non-decreasing offsets in
// [0, size].
func checkOffsets(off []int32, n int, size int64) error {
	if len(off) < n+1 {
		return fmt.Errorf("%d offsets for %d rows", len(off), n)
	}
	if off[0] < 0 {
		return fmt.Errorf("negative offset %d", off[0])
	}
	for j := 1; j <= n; j++ {
		if off[j] < off[j-1] {
			return fmt.Errorf("offsets decrease at row %d", j-1)
		}
	}
	if int64(off[n]) > size {
		return fmt.Errorf("offset %d beyond the %d values", off[n], size)
	}
	return nil
}
