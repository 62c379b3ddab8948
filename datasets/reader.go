package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

// The checks below read the file's footer and message headers (Arrow's
// flatbuffers) before the Arrow reader does, so that a damaged or hostile
// file yields an error instead of a huge allocation or a crash: every
// offset and length must lie inside the file, the schema may use only
// plain types, nested at most a few levels deep, and buffers must be
// uncompressed.

// Limits on what a dataset file may declare.
const (
	maxFields     = 64
	maxDepth      = 3
	maxMetadata   = 4096
	maxMetaLength = 1 << 24
)

var errTruncated = errors.New("truncated: no Arrow footer at the end of the file (was it fully written?)")

// checkFile checks the file's layout and returns each record batch's
// row count.
func checkFile(f io.ReaderAt, size int64) ([]int64, error) {
	head := make([]byte, 8)
	if size < 8 {
		return nil, fmt.Errorf("not an Arrow IPC file: %d bytes", size)
	}
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, err
	}
	if !bytes.Equal(head[:6], magic) {
		if binary.LittleEndian.Uint32(head) == 0xFFFFFFFF {
			return nil, errors.New("an Arrow IPC stream, not an Arrow IPC file (no ARROW1 magic)")
		}
		return nil, errors.New("not an Arrow IPC file (no ARROW1 magic at the start)")
	}
	if size < 8+4+6 {
		return nil, errTruncated
	}
	tail := make([]byte, 10)
	if _, err := f.ReadAt(tail, size-10); err != nil {
		return nil, err
	}
	if !bytes.Equal(tail[4:], magic) {
		return nil, errTruncated
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	fstart := size - 10 - flen
	if flen <= 0 || flen > maxMetaLength || fstart < 8 {
		return nil, fmt.Errorf("footer length %d does not fit the %d-byte file", flen, size)
	}
	fb := make([]byte, flen)
	if _, err := f.ReadAt(fb, fstart); err != nil {
		return nil, err
	}
	footer, err := root(fb)
	if err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	sc, ok, err := footer.table(1)
	if err != nil || !ok {
		return nil, fmt.Errorf("footer: no schema (%v)", err)
	}
	need, err := checkSchema(sc)
	if err != nil {
		return nil, fmt.Errorf("footer schema: %w", err)
	}
	if err := checkKeyValues(footer, 4); err != nil {
		return nil, fmt.Errorf("footer metadata: %w", err)
	}
	if _, err := checkBlocks(f, footer, 2, fstart, need); err != nil {
		return nil, err
	}
	return checkBlocks(f, footer, 3, fstart, need)
}

// checkBlocks checks the blocks listed in footer field i (dictionary or
// record batches), which must lie in the file's first fstart bytes, and
// returns each one's row count.
func checkBlocks(f io.ReaderAt, footer fbTable, i int, fstart int64, need *layout) ([]int64, error) {
	dict := i == 2
	name := "record batch"
	if dict {
		name = "dictionary"
	}
	start, n, err := footer.vector(i, 24)
	if err != nil {
		return nil, fmt.Errorf("footer %s blocks: %w", name, err)
	}
	fb := footer.b
	var lens []int64
	var used int64 // blocks do not overlap, so they fit in the file together
	for k := 0; k < n; k++ {
		p := start + 24*k
		off := int64(binary.LittleEndian.Uint64(fb[p:]))
		meta := int64(int32(binary.LittleEndian.Uint32(fb[p+8:])))
		body := int64(binary.LittleEndian.Uint64(fb[p+16:]))
		if off < 8 || off%8 != 0 || meta < 8 || meta > maxMetaLength || meta%8 != 0 ||
			body < 0 || body%8 != 0 || body > fstart || off > fstart-meta-body {
			return nil, fmt.Errorf("%s %d: block (offset %d, header %d, body %d bytes) is misaligned or lies outside the file's %d data bytes",
				name, k, off, meta, body, fstart)
		}
		if used += meta + body; used > fstart {
			return nil, fmt.Errorf("%s blocks overlap: together they exceed the file's %d data bytes", name, fstart)
		}
		rows, err := checkMessage(f, off, meta, body, dict, need)
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", name, k, err)
		}
		lens = append(lens, rows)
	}
	return lens, nil
}

// checkMessage checks one message: its type, that it is uncompressed,
// that it lists the field nodes and buffers its schema needs (the Arrow
// reader indexes these vectors without bounds checks), and that its
// buffers lie inside its body. It returns the row count.
func checkMessage(f io.ReaderAt, off, meta, body int64, dict bool, need *layout) (int64, error) {
	buf := make([]byte, meta)
	if _, err := f.ReadAt(buf, off); err != nil {
		return 0, err
	}
	// The length prefix, read as the Arrow reader does: a continuation
	// marker and a length, a bare length (before Arrow 0.15), or 0.
	prefix := 4
	switch binary.LittleEndian.Uint32(buf) {
	case 0:
		prefix = 0
	case 0xFFFFFFFF:
		prefix = 8
	}
	msg, err := root(buf[prefix:])
	if err != nil {
		return 0, fmt.Errorf("message header: %w", err)
	}
	typ, _ := msg.u8(1)
	wantType, name := byte(3), "record batch"
	if dict {
		wantType, name = 2, "dictionary batch"
	}
	if typ != wantType {
		return 0, fmt.Errorf("message of type %d, want a %s", typ, name)
	}
	hdr, ok, err := msg.table(2)
	if err != nil || !ok {
		return 0, fmt.Errorf("%s has no header (%v)", name, err)
	}
	want := need.record
	if dict {
		if d, _ := hdr.u8(2); d != 0 {
			return 0, errors.New("dictionary deltas are not allowed in an Arrow file")
		}
		id, _ := hdr.i64(0)
		if want, ok = need.dicts[id]; !ok {
			return 0, fmt.Errorf("dictionary id %d is not in the schema", id)
		}
		if hdr, ok, err = hdr.table(1); err != nil || !ok {
			return 0, fmt.Errorf("dictionary batch without data (%v)", err)
		}
	}
	rows, _ := hdr.i64(0)
	if rows < 0 || rows > 8*body+8 {
		return 0, fmt.Errorf("%d rows in a %d-byte body", rows, body)
	}
	if _, ok, err := hdr.table(3); err != nil || ok {
		return 0, errors.New("compressed buffers are not supported (write files uncompressed)")
	}
	start, n, err := hdr.vector(1, 16)
	if err != nil {
		return 0, fmt.Errorf("field nodes: %w", err)
	}
	if n < want.nodes {
		return 0, fmt.Errorf("%d field nodes, the schema needs %d", n, want.nodes)
	}
	for i := 0; i < n; i++ {
		p := start + 16*i
		l := int64(binary.LittleEndian.Uint64(hdr.b[p:]))
		nulls := int64(binary.LittleEndian.Uint64(hdr.b[p+8:]))
		if l < 0 || l > 8*body+8 || nulls < 0 || nulls > l {
			return 0, fmt.Errorf("field node %d: length %d, %d nulls in a %d-byte body", i, l, nulls, body)
		}
	}
	start, n, err = hdr.vector(2, 16)
	if err != nil {
		return 0, fmt.Errorf("buffers: %w", err)
	}
	if n < want.bufs {
		return 0, fmt.Errorf("%d buffers, the schema needs %d", n, want.bufs)
	}
	for i := 0; i < n; i++ {
		p := start + 16*i
		o := int64(binary.LittleEndian.Uint64(hdr.b[p:]))
		l := int64(binary.LittleEndian.Uint64(hdr.b[p+8:]))
		if o < 0 || l < 0 || o > body || l > body-o {
			return 0, fmt.Errorf("buffer %d (offset %d, length %d) outside the %d-byte body", i, o, l, body)
		}
	}
	if _, _, err := hdr.vector(4, 8); err != nil {
		return 0, fmt.Errorf("variadic counts: %w", err)
	}
	return rows, nil
}

// Arrow type ids (the flatbuffers Type union) allowed in a dataset file:
// Int 2, FloatingPoint 3, Binary 4, Utf8 5, Bool 6, List 12, Struct 13,
// LargeBinary 19, LargeUtf8 20, LargeList 21.

// count is the field nodes and buffers a column takes in a message.
type count struct{ nodes, bufs int }

// layout is what each message of a file must list: a record batch's
// counts, and each dictionary batch's by dictionary id.
type layout struct {
	record count
	dicts  map[int64]count
}

// perType is the field nodes and buffers of each allowed type, children
// excluded.
var perType = map[byte]count{
	2: {1, 2}, 3: {1, 2}, 4: {1, 3}, 5: {1, 3}, 6: {1, 2},
	12: {1, 2}, 13: {1, 1}, 19: {1, 3}, 20: {1, 3}, 21: {1, 2},
}

func checkSchema(sc fbTable) (*layout, error) {
	if e, _ := sc.u8(0); e != 0 { // endianness: a short; low byte suffices for 0/1
		return nil, errors.New("big-endian data is not supported")
	}
	need := &layout{dicts: map[int64]count{}}
	var err error
	if need.record, _, err = checkFields(sc, 1, 0, need); err != nil {
		return nil, err
	}
	if err := checkKeyValues(sc, 2); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if _, _, err := sc.vector(3, 8); err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	return need, nil
}

// checkFields checks the vector of Field tables in field i of t and
// returns the nodes and buffers they take in a record batch (rec) and as
// the values of a dictionary batch (plain: as if none were
// dictionary-encoded); dictionary-encoded fields add their value
// layout to need.dicts.
func checkFields(t fbTable, i, depth int, need *layout) (rec, plain count, err error) {
	start, n, err := t.vector(i, 4)
	if err != nil {
		return rec, plain, err
	}
	if n > maxFields {
		return rec, plain, fmt.Errorf("%d fields (at most %d)", n, maxFields)
	}
	if n > 0 && depth >= maxDepth {
		return rec, plain, fmt.Errorf("types nested deeper than %d levels", maxDepth)
	}
	for k := 0; k < n; k++ {
		fld, err := t.at(start + 4*k)
		if err != nil {
			return rec, plain, fmt.Errorf("field %d: %w", k, err)
		}
		if _, err := fld.str(0); err != nil {
			return rec, plain, fmt.Errorf("field %d name: %w", k, err)
		}
		typ, _ := fld.u8(2)
		own, ok := perType[typ]
		if !ok {
			return rec, plain, fmt.Errorf("field %d has Arrow type id %d, which a dataset file does not use", k, typ)
		}
		if _, ok, err := fld.table(3); err != nil || !ok {
			return rec, plain, fmt.Errorf("field %d: no type table (%v)", k, err)
		}
		crec, cplain, err := checkFields(fld, 5, depth+1, need)
		if err != nil {
			return rec, plain, fmt.Errorf("field %d: %w", k, err)
		}
		fplain := count{own.nodes + cplain.nodes, own.bufs + cplain.bufs}
		frec := count{own.nodes + crec.nodes, own.bufs + crec.bufs}
		dict, ok, err := fld.table(4)
		if err != nil {
			return rec, plain, fmt.Errorf("field %d dictionary: %w", k, err)
		}
		if ok {
			if _, _, err := dict.table(1); err != nil {
				return rec, plain, fmt.Errorf("field %d dictionary index type: %w", k, err)
			}
			id, _ := dict.i64(0)
			need.dicts[id] = fplain
			frec = count{1, 2} // the indices
		}
		if err := checkKeyValues(fld, 6); err != nil {
			return rec, plain, fmt.Errorf("field %d metadata: %w", k, err)
		}
		rec.nodes, rec.bufs = rec.nodes+frec.nodes, rec.bufs+frec.bufs
		plain.nodes, plain.bufs = plain.nodes+fplain.nodes, plain.bufs+fplain.bufs
	}
	return rec, plain, nil
}

// checkKeyValues checks the vector of KeyValue tables in field i of t.
func checkKeyValues(t fbTable, i int) error {
	start, n, err := t.vector(i, 4)
	if err != nil {
		return err
	}
	if n > maxMetadata {
		return fmt.Errorf("%d metadata entries (at most %d)", n, maxMetadata)
	}
	for k := 0; k < n; k++ {
		kv, err := t.at(start + 4*k)
		if err != nil {
			return fmt.Errorf("entry %d: %w", k, err)
		}
		if _, err := kv.str(0); err != nil {
			return fmt.Errorf("entry %d key: %w", k, err)
		}
		if _, err := kv.str(1); err != nil {
			return fmt.Errorf("entry %d value: %w", k, err)
		}
	}
	return nil
}

// fbTable is a flatbuffers table: b is the whole buffer, pos the table's
// start, vt its vtable and nvt the vtable's length in bytes.
type fbTable struct {
	b           []byte
	pos, vt, nv int
}

var errBounds = errors.New("offset outside the buffer")

func u32(b []byte, p int) (int, error) {
	if p < 0 || p > len(b)-4 {
		return 0, errBounds
	}
	return int(binary.LittleEndian.Uint32(b[p:])), nil
}

// root is the table the buffer's first word points to.
func root(b []byte) (fbTable, error) {
	p, err := u32(b, 0)
	if err != nil {
		return fbTable{}, err
	}
	return tableAt(b, p)
}

func tableAt(b []byte, pos int) (fbTable, error) {
	so, err := u32(b, pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(uint32(so)))
	if vt < 0 || vt > len(b)-4 {
		return fbTable{}, errBounds
	}
	nv := int(binary.LittleEndian.Uint16(b[vt:]))
	if nv < 4 || nv%2 != 0 || vt+nv > len(b) {
		return fbTable{}, errors.New("bad vtable")
	}
	tl := int(binary.LittleEndian.Uint16(b[vt+2:]))
	if pos+tl > len(b) {
		return fbTable{}, errBounds
	}
	return fbTable{b: b, pos: pos, vt: vt, nv: nv}, nil
}

// field is the absolute position of field i, or 0 when it is absent.
func (t fbTable) field(i int) (int, error) {
	o := 4 + 2*i
	if o+2 > t.nv {
		return 0, nil
	}
	v := int(binary.LittleEndian.Uint16(t.b[t.vt+o:]))
	if v == 0 {
		return 0, nil
	}
	return t.pos + v, nil
}

func (t fbTable) u8(i int) (byte, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	if p >= len(t.b) {
		return 0, errBounds
	}
	return t.b[p], nil
}

func (t fbTable) i64(i int) (int64, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	if p > len(t.b)-8 {
		return 0, errBounds
	}
	return int64(binary.LittleEndian.Uint64(t.b[p:])), nil
}

// at follows the offset stored at position p to a table.
func (t fbTable) at(p int) (fbTable, error) {
	o, err := u32(t.b, p)
	if err != nil {
		return fbTable{}, err
	}
	return tableAt(t.b, p+o)
}

// table is the sub-table in field i; ok is false when absent.
func (t fbTable) table(i int) (fbTable, bool, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return fbTable{}, false, err
	}
	s, err := t.at(p)
	return s, err == nil, err
}

// vector returns the start and length of the vector in field i, whose
// elements are elem bytes each; an absent vector is empty.
func (t fbTable) vector(i, elem int) (start, n int, err error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	o, err := u32(t.b, p)
	if err != nil {
		return 0, 0, err
	}
	n, err = u32(t.b, p+o)
	if err != nil {
		return 0, 0, err
	}
	start = p + o + 4
	if n < 0 || n > (len(t.b)-start)/elem {
		return 0, 0, fmt.Errorf("vector of %d elements overruns the buffer", n)
	}
	return start, n, nil
}

// str returns the string in field i ("" when absent).
func (t fbTable) str(i int) (string, error) {
	start, n, err := t.vector(i, 1)
	if err != nil {
		return "", err
	}
	return string(t.b[start : start+n]), nil
}
