package datasets

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzOpen feeds arbitrary bytes to the Arrow reader (go test -fuzz
// FuzzOpen ./datasets, or make fuzz). Beyond not panicking, it checks:
//   - an accepted file has rows, and every record batch either decodes
//     with ids inside the vocabulary and labels inside the label set, or
//     fails with an error naming the file and the batch;
//   - an accepted file whose rows the writer takes back (non-empty ids,
//     UTF-8 text, a metadata set the writer accepts) round-trips: written
//     again by Writer and reopened, it gives the same metadata and rows.
//
// The seeds are in testdata/fuzz/FuzzOpen (crashers and stalls found
// before, run by go test) and below.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "tiny-train.arrow")
	arrowWrite(f, good, arrowTinyMeta, arrowTinyRows(), 4)
	data, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(data[8:])
	f.Add([]byte("ARROW1\x00\x00"))
	f.Add([]byte{})
	one := filepath.Join(dir, "one-train.arrow")
	arrowWrite(f, one, Meta{Domain: "one", Split: Test, Tokenizer: "pixels", VocabSize: 256},
		[]Row{{InputIDs: []int32{0, 255, 7}, Label: -1}}, 1)
	if data, err = os.ReadFile(one); err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	if data, err = os.ReadFile(filepath.Join("testdata", "tiny-train-js.arrow")); err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	again := filepath.Join(dir, "again-train.arrow")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := open("fuzz.arrow", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if r.NumRows() <= 0 {
			t.Fatalf("Open succeeded with %d rows", r.NumRows())
		}
		meta := r.Meta()
		var rows []Row
		writable := meta.check() == nil
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.Record(i)
			if err != nil {
				writable = false
				if msg := err.Error(); !strings.Contains(msg, "fuzz.arrow") || !strings.Contains(msg, "record batch") {
					t.Fatalf("record %d: error does not name the file and the batch: %v", i, err)
				}
				continue
			}
			if rec.Len() != r.RecordLen(i) {
				t.Fatalf("record %d: %d rows, the footer says %d", i, rec.Len(), r.RecordLen(i))
			}
			for j := 0; j < rec.Len(); j++ {
				ids := rec.InputIDs(j)
				for _, id := range ids {
					if id < 0 || int(id) >= meta.VocabSize {
						t.Fatalf("record %d row %d: id %d outside [0, %d)", i, j, id, meta.VocabSize)
					}
				}
				l := rec.Label(j)
				if n := len(meta.Labels); (n == 0 && l != -1) || (n > 0 && (l < 0 || int(l) >= n)) {
					t.Fatalf("record %d row %d: label %d with %d label names", i, j, l, n)
				}
				text := rec.Text(j)
				if len(ids) == 0 || !utf8.ValidString(text) {
					writable = false
				}
				rows = append(rows, Row{Text: text, InputIDs: slices.Clone(ids), Label: l})
			}
			if rec.Tokens() != len(rec.AllIDs()) {
				t.Fatalf("record %d: Tokens %d, AllIDs holds %d", i, rec.Tokens(), len(rec.AllIDs()))
			}
		}
		if !writable {
			return
		}
		arrowWrite(t, again, meta, rows, BatchRows)
		meta2, rows2, _ := arrowRead(t, again)
		if !metaEqual(meta, meta2) {
			t.Fatalf("metadata changed on a round trip:\n%+v\n%+v", meta, meta2)
		}
		if len(rows) != len(rows2) {
			t.Fatalf("%d rows written, %d read back", len(rows), len(rows2))
		}
		for j := range rows {
			a, b := rows[j], rows2[j]
			if a.Text != b.Text || a.Label != b.Label || !slices.Equal(a.InputIDs, b.InputIDs) {
				t.Fatalf("row %d changed on a round trip: %+v, read back %+v", j, a, b)
			}
		}
	})
}

// metaEqual compares metadata, an empty label or extra set equal to a nil one.
func metaEqual(a, b Meta) bool {
	if a.Domain != b.Domain || a.Split != b.Split || a.Tokenizer != b.Tokenizer || a.VocabSize != b.VocabSize ||
		a.Source != b.Source || a.Licence != b.Licence || !slices.Equal(a.Labels, b.Labels) || len(a.Extra) != len(b.Extra) {
		return false
	}
	for k, v := range a.Extra {
		if w, ok := b.Extra[k]; !ok || w != v {
			return false
		}
	}
	return true
}
