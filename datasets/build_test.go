package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The committed files under datasets/data are the test data: every
// domain and split exists for both committed tokenizers, the metadata is
// complete, and each row's ids are what the tokenizer gives for its text
// today (so a tokenizer change that would silently disagree with the
// committed files fails here).
func TestCommittedFiles(t *testing.T) {
	const dir = "data"
	labelled := map[string]int{DomainSpam: 2, DomainGenre: 5, DomainSubject: 5, DomainParty: 2, DomainBook: 5}
	for _, name := range DefaultTokenizers {
		tok := mustTokenizer(t, name)
		for _, d := range TextDomains() {
			texts := map[string]bool{}
			for _, s := range Splits {
				path := FilePath(dir, name, d, s)
				meta, rows, ids, labels := readAll(t, path)
				if meta.Domain != d || meta.Split != s || meta.Tokenizer != name || meta.VocabSize != tok.VocabSize() {
					t.Errorf("%s: metadata %+v", path, meta)
				}
				if meta.Source == "" || meta.Licence == "" || !strings.Contains(meta.Source, "@") {
					t.Errorf("%s: source %q, licence %q", path, meta.Source, meta.Licence)
				}
				if len(meta.Labels) != labelled[d] {
					t.Errorf("%s: %d labels, want %d", path, len(meta.Labels), labelled[d])
				}
				if len(rows) < 50 {
					t.Errorf("%s: only %d rows", path, len(rows))
				}
				seen := map[int32]bool{}
				for j, text := range rows {
					// Re-tokenise a sample of rows (all would take seconds).
					if j%7 == 0 && !slices.Equal(ids[j], tok.Encode(text)) {
						t.Errorf("%s row %d: stored ids differ from %s.Encode(text)", path, j, name)
					}
					if text == "" || len(text) > maxUnitBytes {
						t.Errorf("%s row %d: text of %d bytes", path, j, len(text))
					}
					seen[labels[j]] = true
					texts[text] = true
				}
				if n := labelled[d]; n > 0 && len(seen) < 2 {
					t.Errorf("%s: a single label %v in the split", path, seen)
				}
			}
		}
	}
}

// Units of one document never appear in two splits. The files carry no
// document ids, but a FOLDOC entry or an email is a document of one row,
// so for those domains a text in two splits would be a document in two.
func TestCommittedSplitsDisjoint(t *testing.T) {
	for _, d := range []string{DomainComputing, DomainEmail, DomainSpam, DomainSubject} {
		where := map[string]string{}
		for _, s := range Splits {
			_, rows, _, _ := readAll(t, FilePath("data", GPT2Tiny, d, s))
			for _, text := range rows {
				if prev, ok := where[text]; ok && prev != s {
					t.Errorf("%s: a row in both %s and %s: %.60q", d, prev, s, text)
				}
				where[text] = s
			}
		}
	}
}

func TestCommittedMNISTSample(t *testing.T) {
	want := map[string]int{Train: MNISTSample.Train, Validation: MNISTSample.Validation, Test: MNISTSample.Test}
	for _, s := range Splits {
		checkMNIST(t, FilePath("data", Pixels, DomainMNIST, s), want[s])
	}
}

// The full MNIST files are not committed; `make data` writes them under
// datasets/cache/data. The test runs when they are there.
func TestFullMNIST(t *testing.T) {
	dir := filepath.Join("cache", "data")
	if _, err := os.Stat(FilePath(dir, Pixels, DomainMNIST, Train)); err != nil {
		t.Skip("full MNIST not built (make data writes datasets/cache/data/pixels)")
	}
	want := map[string]int{Train: 55000, Validation: 5000, Test: 10000}
	for _, s := range Splits {
		checkMNIST(t, FilePath(dir, Pixels, DomainMNIST, s), want[s])
	}
}

func checkMNIST(t *testing.T, path string, rows int) {
	t.Helper()
	meta, texts, ids, labels := readAll(t, path)
	if meta.Tokenizer != Pixels || meta.VocabSize != 256 || len(meta.Labels) != 10 || meta.Labels[3] != "3" {
		t.Errorf("%s: metadata %+v", path, meta)
	}
	if len(texts) != rows {
		t.Fatalf("%s: %d rows, want %d", path, len(texts), rows)
	}
	count := make([]int, 10)
	for j := range texts {
		if texts[j] != "" || len(ids[j]) != 784 || labels[j] < 0 || labels[j] > 9 {
			t.Fatalf("%s row %d: text %q, %d ids, label %d", path, j, texts[j], len(ids[j]), labels[j])
		}
		count[labels[j]]++
		ink := 0
		for _, p := range ids[j] {
			if p > 128 {
				ink++
			}
		}
		if ink < 5 || ink > 500 {
			t.Errorf("%s row %d: %d inked pixels; not a digit image?", path, j, ink)
		}
	}
	for d, n := range count {
		if n < rows/20 {
			t.Errorf("%s: digit %d has %d of %d rows", path, d, n, rows)
		}
	}
}

func TestReadIDX(t *testing.T) {
	var raw bytes.Buffer
	binary.Write(&raw, binary.BigEndian, uint32(0x0803))
	binary.Write(&raw, binary.BigEndian, []uint32{2, 2, 3})
	raw.Write([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	path := filepath.Join(t.TempDir(), "x.gz")
	writeGz(t, path, raw.Bytes())
	dims, data, err := readIDX(path)
	if err != nil || !slices.Equal(dims, []int{2, 2, 3}) || len(data) != 12 || data[11] != 12 {
		t.Errorf("readIDX = %v, %v, %v", dims, data, err)
	}
	writeGz(t, path, raw.Bytes()[:20]) // truncated data
	if _, _, err := readIDX(path); err == nil {
		t.Error("truncated IDX: no error")
	}
	writeGz(t, path, []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}) // float type
	if _, _, err := readIDX(path); err == nil {
		t.Error("float IDX: no error")
	}
}

func writeGz(t *testing.T, path string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUntgzRefusesEscape(t *testing.T) {
	for name, ok := range map[string]bool{"package/a.txt": true, "../evil.txt": false, "/abs.txt": false} {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
		tw.Write([]byte("hi"))
		tw.Close()
		zw.Close()
		dir := t.TempDir()
		path := filepath.Join(dir, "p.tgz")
		os.WriteFile(path, buf.Bytes(), 0o644)
		err := untgz(path, filepath.Join(dir, "out"))
		if (err == nil) != ok {
			t.Errorf("untgz(%q): error %v", name, err)
		}
		if ok {
			if b, _ := os.ReadFile(filepath.Join(dir, "out", "package", "a.txt")); string(b) != "hi" {
				t.Errorf("untgz: content %q", b)
			}
		}
	}
}

func TestBuildOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Build(BuildOptions{Cache: dir, Out: dir, Only: []string{"poetry"}}); err == nil || !strings.Contains(err.Error(), "speech") {
		t.Errorf("unknown domain: %v (want the valid list)", err)
	}
	if _, err := Build(BuildOptions{Cache: dir, Out: dir, Tokenizers: []string{"gpt5"}}); err == nil || !strings.Contains(err.Error(), "bert-uncased") {
		t.Errorf("unknown tokenizer: %v (want the valid list)", err)
	}
	if _, err := Build(BuildOptions{Cache: dir, Out: dir, Tokenizers: []string{Pixels}}); err == nil {
		t.Error("pixels as a text tokenizer: no error")
	}
}

func TestCheckSum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("abc"), 0o644)
	if err := checkSum(path, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); err != nil {
		t.Error(err)
	}
	if err := checkSum(path, strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Errorf("wrong sum: %v", err)
	}
}
