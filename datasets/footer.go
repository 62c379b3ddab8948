package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The checks in this file read the file's footer and message headers (Arrow's
// flatbuffers) before the Arrow reader does, so that a damaged or hostile
// file yields an error instead of a huge allocation or a crash: every
// offset and length must lie inside the file, the schema may use only
// plain types, nested at most a few levels deep, and buffers must be
// uncompressed.

// Limits on what a dataset file may declare. maxFields and maxMetadata
// bound the schema as a whole (fields at every depth, metadata entries of
// the schema and all its fields together), not each vector: flatbuffers
// offsets may point many times to the same table, so a small file could
// otherwise list 64 fields of 64 fields of 64 fields, each with the same
// 4096 metadata entries, and take minutes to walk (issue 18).
const (
	maxFields     = 64
	maxDepth      = 3
	maxMetadata   = 4096
	maxMetaLength = 1 << 24
)

// budget is what remains of maxFields and maxMetadata while a schema
// (or the footer's own metadata) is walked.
type budget struct{ fields, meta int }

func newBudget() *budget { return &budget{fields: maxFields, meta: maxMetadata} }

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
	if err := checkKeyValues(footer, 4, newBudget()); err != nil {
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
	left := newBudget()
	var err error
	if need.record, _, err = checkFields(sc, 1, 0, need, left); err != nil {
		return nil, err
	}
	if err := checkKeyValues(sc, 2, left); err != nil {
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
// layout to need.dicts. Each field visited, at any depth, is taken from
// left.fields before it is read.
func checkFields(t fbTable, i, depth int, need *layout, left *budget) (rec, plain count, err error) {
	start, n, err := t.vector(i, 4)
	if err != nil {
		return rec, plain, err
	}
	if n > left.fields {
		return rec, plain, fmt.Errorf("%d more fields: the schema may have at most %d in all, nested ones included", n, maxFields)
	}
	left.fields -= n
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
		crec, cplain, err := checkFields(fld, 5, depth+1, need, left)
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
		if err := checkKeyValues(fld, 6, left); err != nil {
			return rec, plain, fmt.Errorf("field %d metadata: %w", k, err)
		}
		rec.nodes, rec.bufs = rec.nodes+frec.nodes, rec.bufs+frec.bufs
		plain.nodes, plain.bufs = plain.nodes+fplain.nodes, plain.bufs+fplain.bufs
	}
	return rec, plain, nil
}

// checkKeyValues checks the vector of KeyValue tables in field i of t,
// taking its entries from left.meta before reading them.
func checkKeyValues(t fbTable, i int, left *budget) error {
	start, n, err := t.vector(i, 4)
	if err != nil {
		return err
	}
	if n > left.meta {
		return fmt.Errorf("%d more metadata entries: at most %d in all", n, maxMetadata)
	}
	left.meta -= n
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
