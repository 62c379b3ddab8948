package datasets

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateTestdata = flag.Bool("update", false, "rewrite testdata/tiny-train.arrow")

// arrowTinyMeta and arrowTinyRows make the small classification file of testdata.
var arrowTinyMeta = Meta{
	Domain: "tiny", Split: Train, Tokenizer: "test-16", VocabSize: 16,
	Source: "sleepbench test", Licence: "CC0-1.0", Labels: []string{"even", "odd"},
	Extra: map[string]string{ExtraSepID: "15"},
}

func arrowTinyRows() []Row {
	var rows []Row
	for i := 0; i < 10; i++ {
		ids := make([]int32, 1+i%4)
		for k := range ids {
			ids[k] = int32((i + k) % 15)
		}
		rows = append(rows, Row{Text: strings.Repeat("é", i%3) + "row", InputIDs: ids, Label: int32(i % 2)})
	}
	return rows
}

func arrowWrite(t testing.TB, path string, meta Meta, rows []Row, batchRows int) {
	t.Helper()
	w, err := Create(path, meta)
	if err != nil {
		t.Fatal(err)
	}
	w.SetBatchRows(batchRows)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func arrowRead(t testing.TB, path string) (Meta, []Row, *Reader) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var rows []Row
	for i := 0; i < r.NumRecords(); i++ {
		b, err := r.Record(i)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != r.RecordLen(i) {
			t.Fatalf("record %d: Len %d, RecordLen %d", i, b.Len(), r.RecordLen(i))
		}
		var all []int32
		for j := 0; j < b.Len(); j++ {
			rows = append(rows, Row{Text: b.Text(j), InputIDs: append([]int32(nil), b.InputIDs(j)...), Label: b.Label(j)})
			all = append(all, b.InputIDs(j)...)
		}
		if !cmp.Equal(all, b.AllIDs()) || b.Tokens() != len(all) {
			t.Fatalf("record %d: AllIDs %v (Tokens %d), want the rows' ids %v", i, b.AllIDs(), b.Tokens(), all)
		}
	}
	return r.Meta(), rows, r
}

func TestRoundTrip(t *testing.T) {
	for _, batch := range []int{1, 3, 10, 1000} {
		path := filepath.Join(t.TempDir(), "tiny-train.arrow")
		rows := arrowTinyRows()
		arrowWrite(t, path, arrowTinyMeta, rows, batch)
		meta, got, r := arrowRead(t, path)
		if diff := cmp.Diff(arrowTinyMeta, meta); diff != "" {
			t.Errorf("batch %d: meta (-want +got):\n%s", batch, diff)
		}
		if diff := cmp.Diff(rows, got); diff != "" {
			t.Errorf("batch %d: rows (-want +got):\n%s", batch, diff)
		}
		if want := (len(rows) + batch - 1) / batch; r.NumRecords() != want {
			t.Errorf("batch %d: %d record batches, want %d", batch, r.NumRecords(), want)
		}
		if r.NumRows() != int64(len(rows)) {
			t.Errorf("batch %d: NumRows %d, want %d", batch, r.NumRows(), len(rows))
		}
		if id, ok, err := meta.ExtraID(ExtraSepID); err != nil || !ok || id != 15 {
			t.Errorf("ExtraID(sep_id) = %d, %v, %v; want 15", id, ok, err)
		}
	}
}

func TestBatchTokens(t *testing.T) {
	// Rows of 40,000 ids: a batch closes once it holds BatchTokens ids.
	path := filepath.Join(t.TempDir(), "big-train.arrow")
	meta := Meta{Domain: "big", Split: Train, Tokenizer: "pixels", VocabSize: 256}
	ids := make([]int32, 40000)
	var rows []Row
	for i := 0; i < 7; i++ {
		rows = append(rows, Row{InputIDs: ids, Label: -1})
	}
	arrowWrite(t, path, meta, rows, 1000)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// 2 rows = 80,000 >= 65,536 ids per batch: 2, 2, 2, 1.
	if r.NumRecords() != 4 || r.RecordLen(0) != 2 || r.RecordLen(3) != 1 {
		t.Errorf("got %d record batches, first %d rows; want 4, 2", r.NumRecords(), r.RecordLen(0))
	}
}

// TestTestdata checks that the writer's output is byte-for-byte
// deterministic, against the committed testdata/tiny-train.arrow (which
// the JavaScript check in README.md reads). Run with -update to rewrite.
func TestTestdata(t *testing.T) {
	golden := filepath.Join("testdata", "tiny-train.arrow")
	path := filepath.Join(t.TempDir(), "tiny-train.arrow")
	arrowWrite(t, path, arrowTinyMeta, arrowTinyRows(), 4)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *updateTestdata {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("writer output (%d bytes) differs from %s (%d bytes)", len(got), golden, len(want))
	}
}

func TestWriteErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny-train.arrow")
	w, err := Create(path, arrowTinyMeta)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Row{Text: "ok", InputIDs: []int32{1}, Label: 0}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		row  Row
		want string
	}{
		{Row{InputIDs: []int32{1, 16}, Label: 0}, "input id 16 at position 1 is outside the vocabulary [0, 16)"},
		{Row{InputIDs: []int32{-1}, Label: 0}, "input id -1"},
		{Row{InputIDs: nil, Label: 0}, "row 1 has no input ids"},
		{Row{InputIDs: []int32{1}, Label: 2}, "label 2 outside [0, 2)"},
		{Row{InputIDs: []int32{1}, Label: -1}, "label -1 outside [0, 2)"},
		{Row{Text: "\xff", InputIDs: []int32{1}}, "not valid UTF-8"},
	} {
		err := w.Write(c.row)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Write(%+v) = %v; want an error naming %s and %q", c.row, err, path, c.want)
		}
	}
	// Rejected rows leave the writer usable.
	if err := w.Write(Row{Text: "ok", InputIDs: []int32{2}, Label: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s exists before Close (err %v)", path, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left after Close (err %v)", err)
	}
	if _, rows, _ := arrowRead(t, path); len(rows) != 2 {
		t.Errorf("read %d rows, want 2", len(rows))
	}

	// A file without labels takes only -1.
	nolab := Meta{Domain: "d", Split: Test, Tokenizer: "t", VocabSize: 4}
	w, err = Create(filepath.Join(t.TempDir(), "d-test.arrow"), nolab)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Row{InputIDs: []int32{1}}); err == nil || !strings.Contains(err.Error(), "label 0 in a file without labels") {
		t.Errorf("label 0 without labels: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		meta Meta
		want string
	}{
		{Meta{Split: Train, Tokenizer: "t", VocabSize: 4}, "empty domain"},
		{Meta{Domain: "d", Split: "dev", Tokenizer: "t", VocabSize: 4}, `split "dev"`},
		{Meta{Domain: "d", Split: Train, VocabSize: 4}, "empty tokenizer"},
		{Meta{Domain: "d", Split: Train, Tokenizer: "t"}, "vocabulary size 0"},
		{Meta{Domain: "d", Split: Train, Tokenizer: "t", VocabSize: 4, Labels: []string{"a,b"}}, "holds a comma"},
		{Meta{Domain: "d", Split: Train, Tokenizer: "t", VocabSize: 4, Extra: map[string]string{"sep_id": "4"}}, "not a token id in [0, 4)"},
		{Meta{Domain: "d", Split: Train, Tokenizer: "t", VocabSize: 4, Extra: map[string]string{"domain": "x"}}, "reserved key"},
	} {
		path := filepath.Join(dir, "x.arrow")
		_, err := Create(path, c.meta)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Create(%+v) = %v; want an error naming the file and %q", c.meta, err, c.want)
		}
	}
	if _, err := Create(filepath.Join(dir, "no", "such", "x.arrow"), arrowTinyMeta); err == nil {
		t.Error("Create in a missing folder succeeded")
	}
}

func TestCloseEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty-train.arrow")
	w, err := Create(path, arrowTinyMeta)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("Close with no rows = %v, want a 'no rows' error", err)
	}
	for _, p := range []string{path, path + ".tmp"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed Close", p)
		}
	}
}

func TestFilePath(t *testing.T) {
	for _, c := range []struct{ dir, tok, dom, split, want string }{
		{"datasets/data", "gpt2-8k", "speech", Train, filepath.Join("datasets/data", "gpt2-8k", "speech-train.arrow")},
		{"datasets/data", "gpt2-8k", "./mine/email", Test, "./mine/email-test.arrow"},
		{"x", "bert-uncased", "/abs/dom", Validation, "/abs/dom-validation.arrow"},
	} {
		if got := FilePath(c.dir, c.tok, c.dom, c.split); got != c.want {
			t.Errorf("FilePath(%q, %q, %q, %q) = %q, want %q", c.dir, c.tok, c.dom, c.split, got, c.want)
		}
	}
}

// TestReadJS reads testdata/tiny-train-js.arrow, which Apache Arrow's
// JavaScript implementation (npm apache-arrow 21.2.0) wrote after reading
// testdata/tiny-train.arrow (see README.md): another implementation's
// file opens and holds the same rows and metadata.
func TestReadJS(t *testing.T) {
	meta, rows, _ := arrowRead(t, filepath.Join("testdata", "tiny-train-js.arrow"))
	if diff := cmp.Diff(arrowTinyMeta, meta); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(arrowTinyRows(), rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
