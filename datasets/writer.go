package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Record batch size limits: a batch is written when it holds BatchRows
// rows or BatchTokens input ids, whichever comes first. Small batches let
// a reader cut training batches while decoding little of the file.
const (
	BatchRows   = 1024
	BatchTokens = 1 << 16
	batchText   = 1 << 26 // bytes of text, far below Arrow's 2 GiB offsets
)

// Row is one unit of a dataset: its raw text, its token ids and its label
// (-1 for files without labels).
type Row struct {
	Text     string
	InputIDs []int32
	Label    int32
}

// Writer writes one dataset file. It writes to path+".tmp" and renames
// the file into place on Close, so a reader never sees a partial file.
type Writer struct {
	path, tmp string
	meta      Meta
	f         *os.File
	fw        *ipc.FileWriter
	schema    *arrow.Schema
	mem       memory.Allocator
	domain    arrow.Array // one-value dictionaries shared by every batch
	split     arrow.Array

	text   *array.StringBuilder
	ids    *array.ListBuilder
	idv    *array.Int32Builder
	labels *array.Int32Builder

	batchRows    int
	nrows, ntoks int   // in the pending batch
	ntext        int   // text bytes in the pending batch
	rows         int64 // written or pending
	err          error // sticky I/O error
	closed       bool
}

// Create starts a dataset file at path with the given metadata. The
// parent folder must exist.
func Create(path string, meta Meta) (*Writer, error) {
	if err := meta.check(); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	meta.Labels = append([]string(nil), meta.Labels...)
	w := &Writer{path: path, tmp: path + ".tmp", meta: meta, schema: schema(meta),
		mem: memory.NewGoAllocator(), batchRows: BatchRows}
	f, err := os.OpenFile(w.tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	w.f = f
	w.fw, err = ipc.NewFileWriter(f, ipc.WithSchema(w.schema), ipc.WithAllocator(w.mem))
	if err != nil {
		f.Close()
		os.Remove(w.tmp)
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	w.domain = oneString(w.mem, meta.Domain)
	w.split = oneString(w.mem, meta.Split)
	w.text = array.NewStringBuilder(w.mem)
	w.ids = array.NewListBuilderWithField(w.mem, w.schema.Field(3).Type.(*arrow.ListType).ElemField())
	w.idv = w.ids.ValueBuilder().(*array.Int32Builder)
	w.labels = array.NewInt32Builder(w.mem)
	return w, nil
}

func oneString(mem memory.Allocator, s string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Append(s)
	return b.NewArray()
}

// SetBatchRows sets the rows per record batch (default BatchRows); call it
// before the first Write. Tests use it to make files of many batches.
func (w *Writer) SetBatchRows(n int) {
	if n > 0 {
		w.batchRows = n
	}
}

// Rows is the number of rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Write appends a row. It rejects, naming the file and row, ids outside
// [0, VocabSize), empty ids, text that is not UTF-8, and a label outside
// [0, len(Labels)) (or other than -1 when the file has no labels); a
// rejected row is not written and the writer stays usable.
func (w *Writer) Write(r Row) error {
	if w.closed {
		return fmt.Errorf("write %s: writer is closed", w.path)
	}
	if w.err != nil {
		return w.err
	}
	row := w.rows
	if len(r.InputIDs) == 0 {
		return fmt.Errorf("write %s: row %d has no input ids", w.path, row)
	}
	if int64(len(r.InputIDs)) > 1<<31-1-int64(w.ntoks) || int64(len(r.Text)) > 1<<31-1-int64(w.ntext) {
		return fmt.Errorf("write %s: row %d: too large (%d ids, %d bytes of text)", w.path, row, len(r.InputIDs), len(r.Text))
	}
	for i, id := range r.InputIDs {
		if id < 0 || int(id) >= w.meta.VocabSize {
			return fmt.Errorf("write %s: row %d: input id %d at position %d is outside the vocabulary [0, %d) of tokenizer %s",
				w.path, row, id, i, w.meta.VocabSize, w.meta.Tokenizer)
		}
	}
	if n := len(w.meta.Labels); n > 0 {
		if r.Label < 0 || int(r.Label) >= n {
			return fmt.Errorf("write %s: row %d: label %d outside [0, %d)", w.path, row, r.Label, n)
		}
	} else if r.Label != -1 {
		return fmt.Errorf("write %s: row %d: label %d in a file without labels (want -1)", w.path, row, r.Label)
	}
	if !utf8.ValidString(r.Text) {
		return fmt.Errorf("write %s: row %d: text is not valid UTF-8", w.path, row)
	}
	w.text.Append(r.Text)
	w.ids.Append(true)
	w.idv.AppendValues(r.InputIDs, nil)
	w.labels.Append(r.Label)
	w.nrows++
	w.ntoks += len(r.InputIDs)
	w.ntext += len(r.Text)
	w.rows++
	if w.nrows >= w.batchRows || w.ntoks >= BatchTokens || w.ntext >= batchText {
		return w.flush()
	}
	return nil
}

// flush writes the pending rows as one record batch.
func (w *Writer) flush() error {
	if w.nrows == 0 {
		return nil
	}
	n := w.nrows
	idx := array.NewInt8Builder(w.mem)
	idx.AppendValues(make([]int8, n), nil)
	indices := idx.NewArray()
	idx.Release()
	defer indices.Release()
	cols := []arrow.Array{
		array.NewDictionaryArray(dictType, indices, w.domain),
		array.NewDictionaryArray(dictType, indices, w.split),
		w.text.NewArray(),
		w.ids.NewArray(),
		w.labels.NewArray(),
	}
	rec := array.NewRecord(w.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	err := w.fw.Write(rec)
	rec.Release()
	w.nrows, w.ntoks, w.ntext = 0, 0, 0
	if err != nil {
		w.err = fmt.Errorf("write %s: %w", w.tmp, err)
		return w.err
	}
	return nil
}

// Close writes the last batch and the footer, syncs the file and renames
// it into place. A file with no rows is an error (and is not created).
// After an error the temporary file is removed.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.err
	if err == nil && w.rows == 0 {
		err = fmt.Errorf("close %s: no rows were written (empty domain %q, split %s)", w.path, w.meta.Domain, w.meta.Split)
	}
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		if e := w.fw.Close(); e != nil {
			err = fmt.Errorf("close %s: %w", w.tmp, e)
		}
	}
	if err == nil {
		if e := w.f.Sync(); e != nil {
			err = fmt.Errorf("close %s: %w", w.tmp, e)
		}
	}
	if e := w.f.Close(); e != nil && err == nil {
		err = fmt.Errorf("close %s: %w", w.tmp, e)
	}
	w.release()
	if err != nil {
		os.Remove(w.tmp)
		return err
	}
	if e := os.Rename(w.tmp, w.path); e != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("close %s: %w", w.path, e)
	}
	// Sync the folder so the rename itself survives a crash.
	if d, e := os.Open(filepath.Dir(w.path)); e == nil {
		e = d.Sync()
		d.Close()
		if e != nil && !errors.Is(e, os.ErrInvalid) {
			return fmt.Errorf("close %s: sync folder: %w", w.path, e)
		}
	}
	return nil
}

// Abort abandons the file: nothing is renamed into place and the
// temporary file is removed.
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.f.Close()
	w.release()
	if err := os.Remove(w.tmp); err != nil {
		return fmt.Errorf("abort %s: %w", w.path, err)
	}
	return nil
}

func (w *Writer) release() {
	w.text.Release()
	w.ids.Release()
	w.labels.Release()
	w.domain.Release()
	w.split.Release()
}
