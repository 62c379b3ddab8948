package datasets

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// firstInvalid is the offset of the first byte of b that is not UTF-8
// (-1 when b is valid): ranging over a string yields U+FFFD for such a
// byte, and for an encoded U+FFFD, which is valid.
func firstInvalid(b []byte) int {
	s := string(b)
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return i
		}
	}
	return -1
}

// fold turns each run of U+FFFD into one.
var fold = regexp.MustCompile("\uFFFD+")

// importSeps are the -doc-sep values FuzzImportText tries (index 0: none).
var importSeps = []string{"", `\n`, `(?m)^---\r?$`, `\.\s`}

// FuzzImportText feeds arbitrary bytes to data import as one file of a
// text folder, with -doc-bytes, -doc-sep and -invalid-utf8 chosen by the
// fuzzer (go test -fuzz FuzzImportText ./datasets, or make fuzz). It
// checks:
//   - refuse: an error exactly when the bytes are not UTF-8, naming the
//     file and the offset of the first bad byte;
//   - replace: bytes replaced exactly when they are not UTF-8;
//   - the rows are the text's paragraphs, each once and in order, each
//     on one line, non-empty and UTF-8; cut with -doc-sep they are the
//     paragraphs of the pieces between matches;
//   - -doc-bytes: every document but the last holds at least N bytes,
//     and would hold fewer without its last row (so documents are as
//     small as the rule allows);
//   - document ids are the file's path, or path#1, path#2, … in order.
func FuzzImportText(f *testing.F) {
	for _, s := range []string{
		"one paragraph", "a\n\nb\n\n\nc d\ne", "caf\xe9\n\n\xff\xfe", "x\r\n\r\ny\r\n---\r\nz",
		"Sentence one. Sentence two.\n\nThird. \xed\xa0\x80", "", "\n\n \t\n",
	} {
		for _, docBytes := range []uint16{0, 1, 8} {
			f.Add([]byte(s), docBytes, uint8(0), false)
			f.Add([]byte(s), docBytes, uint8(2), true)
		}
		f.Add([]byte(s), uint16(0), uint8(1), true)
		f.Add([]byte(s), uint16(0), uint8(3), false)
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "in.txt")
	f.Fuzz(func(t *testing.T, b []byte, docBytes uint16, sepIdx uint8, replace bool) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := ImportOptions{Domain: "fuzz", TextDir: dir, Out: "unused", DocSep: importSeps[int(sepIdx)%len(importSeps)]}
		if opt.DocSep == "" {
			opt.DocBytes = int(docBytes)
		}
		if replace {
			opt.InvalidUTF8 = InvalidReplace
		}
		if err := opt.check(); err != nil {
			t.Fatalf("options %+v: %v", opt, err)
		}
		rep := &ImportReport{}
		c, err := importTextDir(opt, rep)
		bad := firstInvalid(b)
		if !replace && bad >= 0 {
			want := path + " line " + strconv.Itoa(1+strings.Count(string(b[:bad]), "\n")) + ", byte offset " + strconv.Itoa(bad) + ":"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("first bad byte at %d: error %v, want one with %q", bad, err, want)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid input or replace: %v", err)
		}
		if (rep.Replaced > 0) != (bad >= 0) || rep.Inputs != 1 {
			t.Fatalf("%d bytes replaced from %d inputs; first bad byte at %d", rep.Replaced, rep.Inputs, bad)
		}
		text := strings.ToValidUTF8(string(b), "\uFFFD") // same paragraphs as one U+FFFD a byte
		var want []string
		if opt.DocSep != "" {
			for _, piece := range regexp.MustCompile(opt.DocSep).Split(text, -1) {
				want = append(want, paragraphs(piece)...)
			}
		} else {
			want = paragraphs(text)
		}
		var got []string
		for d, doc := range c.Docs {
			id := "in.txt"
			if opt.DocSep != "" || opt.DocBytes > 0 {
				id += "#" + strconv.Itoa(d+1)
			}
			if doc.ID != id {
				t.Fatalf("document %d has id %q, want %q", d, doc.ID, id)
			}
			if len(doc.Units) == 0 {
				t.Fatalf("document %s has no rows", doc.ID)
			}
			n := 0
			for _, u := range doc.Units {
				if u.Text == "" || strings.ContainsAny(u.Text, "\n\r") || !utf8.ValidString(u.Text) {
					t.Fatalf("document %s: row %q is empty, on several lines or not UTF-8", doc.ID, u.Text)
				}
				got = append(got, u.Text)
				n += len(u.Text)
			}
			last := len(doc.Units[len(doc.Units)-1].Text)
			if opt.DocBytes > 0 && d < len(c.Docs)-1 && (n < opt.DocBytes || n-last >= opt.DocBytes) {
				t.Fatalf("-doc-bytes %d: document %s holds %d bytes, %d without its last row", opt.DocBytes, doc.ID, n, n-last)
			}
		}
		if opt.DocSep == "" && opt.DocBytes == 0 && len(c.Docs) > 1 {
			t.Fatalf("%d documents from one file without -doc-bytes or -doc-sep", len(c.Docs))
		}
		// With invalid bytes replaced one by one, a run of them is several
		// U+FFFD where ToValidUTF8 put one: compare the rows with runs
		// folded.
		for i := range got {
			got[i] = fold.ReplaceAllString(got[i], "\uFFFD")
		}
		for i := range want {
			want[i] = fold.ReplaceAllString(want[i], "\uFFFD")
		}
		if !slices.Equal(got, want) {
			t.Fatalf("rows %q, want the paragraphs %q", got, want)
		}
	})
}

// FuzzImportJSONL feeds arbitrary bytes to data import as a JSON-lines
// file, with or without a label field and -invalid-utf8 replace (go test
// -fuzz FuzzImportJSONL ./datasets, or make fuzz). It checks: an error
// names the file (and the line, for a line that is not a JSON object with
// the fields); bytes not UTF-8 are refused or replaced as asked; an
// accepted file gives one document per line with text, in order, whose
// row is the line's text field, trimmed, exactly as json.Unmarshal reads
// it; the labels are sorted, distinct and include every row's label.
func FuzzImportJSONL(f *testing.F) {
	for _, s := range []string{
		`{"text": "a", "label": "x"}` + "\n" + `{"text": " b ", "label": 3}` + "\n\n" + `{"text": "", "label": "y"}`,
		`{"text": "caf` + "\xe9" + `"}`, `{"text": 3}`, `{"text": "no label"}`, `[1, 2]`, "{}\r\n{}", `{"text": "\ud800 escaped surrogate"}`,
	} {
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	path := filepath.Join(f.TempDir(), "in.jsonl")
	f.Fuzz(func(t *testing.T, b []byte, label, replace bool) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := ImportOptions{Domain: "fuzz", JSONL: path, Out: "unused"}
		if label {
			opt.LabelField = "label"
		}
		if replace {
			opt.InvalidUTF8 = InvalidReplace
		}
		rep := &ImportReport{}
		c, err := importJSONL(opt, rep)
		bad := firstInvalid(b)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			if !replace && bad >= 0 && !strings.Contains(err.Error(), "byte offset "+strconv.Itoa(bad)+":") {
				t.Fatalf("first bad byte at %d: error %v", bad, err)
			}
			return
		}
		if !replace && bad >= 0 {
			t.Fatalf("bytes not UTF-8 (the first at %d) accepted", bad)
		}
		if (rep.Replaced > 0) != (bad >= 0) {
			t.Fatalf("%d bytes replaced; first bad byte at %d", rep.Replaced, bad)
		}
		lines := strings.Split(string(b), "\n")
		prev := 0
		for _, doc := range c.Docs {
			n, err := strconv.Atoi(strings.TrimPrefix(doc.ID, "line "))
			if err != nil || n <= prev || n > len(lines) || len(doc.Units) != 1 {
				t.Fatalf("document %q after line %d (%d lines), %d rows", doc.ID, prev, len(lines), len(doc.Units))
			}
			prev = n
			var obj map[string]json.RawMessage
			var text string
			if err := json.Unmarshal([]byte(lines[n-1]), &obj); err == nil {
				err = json.Unmarshal(obj["text"], &text)
			}
			if err != nil && bad < 0 {
				t.Fatalf("line %d accepted, but json.Unmarshal reads: %v", n, err)
			}
			u := doc.Units[0]
			if bad < 0 && u.Text != strings.TrimSpace(text) {
				t.Fatalf("line %d: row %q, json.Unmarshal reads %q", n, u.Text, text)
			}
			if u.Text == "" || !utf8.ValidString(u.Text) {
				t.Fatalf("line %d: row %q is empty or not UTF-8", n, u.Text)
			}
			if label && !slices.Contains(c.Labels, u.Label) {
				t.Fatalf("line %d: label %q not among %q", n, u.Label, c.Labels)
			}
		}
		if len(c.Docs) == 0 {
			t.Fatal("accepted a file without rows")
		}
		if !slices.IsSorted(c.Labels) || len(slices.Compact(slices.Clone(c.Labels))) != len(c.Labels) || (label == (c.Labels == nil)) {
			t.Fatalf("labels %q", c.Labels)
		}
	})
}
