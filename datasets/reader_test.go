package datasets

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// arrowRaw writes an Arrow IPC file with any schema, bypassing Writer's
// checks, with rows rows per record batch (all equal): ids holds each
// row's input ids.
func arrowRaw(t *testing.T, path string, sc *arrow.Schema, batches int, ids [][]int32) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem := memory.NewGoAllocator()
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(sc), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < batches; k++ {
		rb := array.NewRecordBuilder(mem, sc)
		for i, fld := range sc.Fields() {
			for j, row := range ids {
				switch b := rb.Field(i).(type) {
				case *array.BinaryDictionaryBuilder:
					if err := b.AppendString(fld.Name); err != nil {
						t.Fatal(err)
					}
				case *array.StringBuilder:
					b.Append(fmt.Sprintf("row %d", j))
				case *array.ListBuilder:
					b.Append(true)
					b.ValueBuilder().(*array.Int32Builder).AppendValues(row, nil)
				case *array.Int32Builder:
					b.Append(-1)
				case *array.Int64Builder:
					b.Append(-1)
				default:
					t.Fatalf("arrowRaw: no rule for %T", b)
				}
			}
		}
		rec := rb.NewRecord()
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		rb.Release()
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// arrowSchema is the dataset schema with metadata md, with column drop left
// out and column retype given type typ (when non-nil).
func arrowSchema(md map[string]string, drop string, retype string, typ arrow.DataType) *arrow.Schema {
	base := schema(Meta{Domain: "d", Split: Train, Tokenizer: "t", VocabSize: 10})
	var fields []arrow.Field
	for _, f := range base.Fields() {
		if f.Name == drop {
			continue
		}
		if f.Name == retype {
			f.Type = typ
		}
		fields = append(fields, f)
	}
	m := base.Metadata()
	kv := map[string]string{}
	for i, k := range m.Keys() {
		kv[k] = m.Values()[i]
	}
	for k, v := range md {
		if v == "" {
			delete(kv, k)
		} else {
			kv[k] = v
		}
	}
	meta := arrow.MetadataFrom(kv)
	return arrow.NewSchema(fields, &meta)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.arrow")
	arrowWrite(t, good, arrowTinyMeta, arrowTinyRows(), 4)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := [][]int32{{1, 2}, {3}}
	raw := func(name string, sc *arrow.Schema, batches int, ids [][]int32) string {
		p := filepath.Join(dir, name)
		arrowRaw(t, p, sc, batches, ids)
		return p
	}
	var stream bytes.Buffer
	sw := ipc.NewWriter(&stream, ipc.WithSchema(schema(arrowTinyMeta)))
	sw.Close()

	for _, c := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.arrow"), "no such file"},
		{"truncated half", write("half.arrow", data[:len(data)/2]), "truncated"},
		{"truncated last byte", write("cut.arrow", data[:len(data)-1]), "truncated"},
		{"not arrow", write("text.arrow", []byte("domain,split,text\nspeech,train,hello\n")), "not an Arrow IPC file"},
		{"tiny", write("tiny.arrow", []byte("ARR")), "not an Arrow IPC file"},
		{"stream", write("stream.arrow", stream.Bytes()), "an Arrow IPC stream, not an Arrow IPC file"},
		{"bad footer length", write("footer.arrow", append(append([]byte{}, data[:len(data)-10]...), 0xff, 0xff, 0xff, 0x7f, 'A', 'R', 'R', 'O', 'W', '1')), "footer length"},
		{"schema version", raw("v2.arrow", arrowSchema(map[string]string{KeySchemaVersion: "2"}, "", "", nil), 1, ok), `sleepbench.schema_version is "2", this reader reads version "1"`},
		{"no schema version", raw("v0.arrow", arrowSchema(map[string]string{KeySchemaVersion: ""}, "", "", nil), 1, ok), "no sleepbench.schema_version"},
		{"no tokenizer", raw("tok.arrow", arrowSchema(map[string]string{KeyTokenizer: ""}, "", "", nil), 1, ok), "sleepbench.tokenizer is missing"},
		{"bad vocab", raw("vocab.arrow", arrowSchema(map[string]string{KeyVocabSize: "many"}, "", "", nil), 1, ok), `sleepbench.vocab_size = "many"`},
		{"missing column", raw("nolabel.arrow", arrowSchema(nil, ColLabel, "", nil), 1, ok), `missing column "label"`},
		{"wrong type", raw("int64.arrow", arrowSchema(nil, "", ColLabel, arrow.PrimitiveTypes.Int64), 1, ok), `column "label" has type int64, want int32`},
		{"wrong list type", raw("list64.arrow", arrowSchema(nil, "", ColInputIDs, arrow.ListOf(arrow.PrimitiveTypes.Int64)), 1, nil), `column "input_ids" has type list<item: int64, nullable>, want list<int32>`},
		{"empty domain", raw("empty.arrow", arrowSchema(nil, "", "", nil), 0, nil), `no rows: domain "d" split train is empty`},
		{"empty batches", raw("empty2.arrow", arrowSchema(nil, "", "", nil), 3, nil), "no rows"},
	} {
		r, err := Open(c.path)
		if err == nil {
			r.Close()
			t.Errorf("%s: Open succeeded", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name the file and %q", c.name, err, c.want)
		}
	}
}

func TestRecordErrors(t *testing.T) {
	dir := t.TempDir()
	// Ids outside the vocabulary (10) of the metadata: Open succeeds (it
	// reads no rows), Record and Info fail naming the file, batch and row.
	p := filepath.Join(dir, "oov.arrow")
	arrowRaw(t, p, arrowSchema(nil, "", "", nil), 2, [][]int32{{1, 2}, {3, 10}})
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := "record batch 1: row 1: input id 10 at position 1 is outside the vocabulary [0, 10)"
	if _, err := r.Record(1); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), want) {
		t.Errorf("Record(1) = %v; want an error naming %s and %q", err, p, want)
	}
	if err := Info(p, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "record batch 0: row 1: input id 10") {
		t.Errorf("Info = %v, want the out-of-vocabulary error", err)
	}
	if _, err := r.Record(2); err == nil || !strings.Contains(err.Error(), "record batch 2 out of range [0, 2)") {
		t.Errorf("Record(2) = %v, want out of range", err)
	}
	// A label of -1 in a file with label names.
	p = filepath.Join(dir, "label.arrow")
	arrowRaw(t, p, arrowSchema(map[string]string{KeyLabels: "a,b"}, "", "", nil), 1, [][]int32{{1}})
	r2, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := r2.Record(0); err == nil || !strings.Contains(err.Error(), "row 0: label -1 outside [0, 2)") {
		t.Errorf("Record(0) = %v, want a label range error", err)
	}
}

func TestInfo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny-train.arrow")
	arrowWrite(t, path, arrowTinyMeta, arrowTinyRows(), 4)
	var out bytes.Buffer
	if err := Info(path, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("Info:\n%s", out.String())
	// arrowTinyRows: lengths 1,2,3,4,1,2,3,4,1,2 = 23 ids; labels 5 even, 5 odd.
	for _, want := range []string{
		"rows      10\n",
		"batches   3\n",
		"tokens    23 (per row: min 1, mean 2.3, max 4)\n",
		"labels    0 even: 5 rows (50.0%)\n",
		"          1 odd: 5 rows (50.0%)\n",
		`sleepbench.schema_version = "1"`,
		`sleepbench.sep_id = "15"`,
		"input_ids: list<item: int32>",
		"domain: dictionary<values=utf8, indices=int8",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Info output lacks %q:\n%s", want, out.String())
		}
	}
}
