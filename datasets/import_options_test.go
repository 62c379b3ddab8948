package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles writes name → contents under dir, creating folders.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// importedRows imports with opt (one tokenizer, gpt2-2k, unless given)
// and returns every row's text, split by split, with the report.
func importedRows(t *testing.T, opt ImportOptions) (map[string][]string, *ImportReport) {
	t.Helper()
	if opt.Domain == "" {
		opt.Domain = "mine"
	}
	if opt.Out == "" {
		opt.Out = t.TempDir()
	}
	if opt.Tokenizers == nil {
		opt.Tokenizers = []string{GPT2Tiny}
	}
	rep, err := Import(opt)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, s := range Splits {
		_, texts, _, _ := readAll(t, FilePath(opt.Out, opt.Tokenizers[0], opt.Domain, s))
		rows[s] = texts
	}
	return rows, rep
}

// allRows returns the rows of every split, sorted.
func allRows(rows map[string][]string) []string {
	var out []string
	for _, s := range Splits {
		out = append(out, rows[s]...)
	}
	slices.Sort(out)
	return out
}

// TestImportAnyFile: -text-dir reads every regular file whatever its
// name, skips hidden files and folders, and -glob picks by name or, with
// a "/", by path inside the folder.
func TestImportAnyFile(t *testing.T) {
	in := t.TempDir()
	files := map[string]string{".hidden.txt": "hidden file", ".git/config": "hidden folder"}
	var want, wantMD, wantSub []string
	for i := range 24 {
		name := []string{"f%02d.md", "f%02d", "sub/f%02d.txt", "f%02d.TXT"}[i%4]
		name = fmt.Sprintf(name, i)
		text := fmt.Sprintf("document %d", i)
		files[name] = text + "\n"
		want = append(want, text)
		if strings.HasSuffix(name, ".md") {
			wantMD = append(wantMD, text)
		}
		if strings.HasPrefix(name, "sub/") {
			wantSub = append(wantSub, text)
		}
	}
	writeFiles(t, in, files)
	for _, c := range []struct {
		glob string
		want []string
	}{{"", want}, {"*.md", wantMD}, {"sub/*", wantSub}} {
		rows, rep := importedRows(t, ImportOptions{TextDir: in, Glob: c.glob})
		slices.Sort(c.want)
		if got := allRows(rows); !slices.Equal(got, c.want) {
			t.Errorf("-glob %q: rows %q, want %q", c.glob, got, c.want)
		}
		if rep.Inputs != len(c.want) {
			t.Errorf("-glob %q: %d files read, want %d", c.glob, rep.Inputs, len(c.want))
		}
	}
	_, err := Import(ImportOptions{Domain: "mine", TextDir: in, Glob: "*.pdf", Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `no files match -glob "*.pdf"`) {
		t.Errorf("no matching file: error %v", err)
	}
	_, err = Import(ImportOptions{Domain: "mine", TextDir: in, Glob: "[", Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "-glob") {
		t.Errorf("malformed -glob: error %v", err)
	}
}

// bigText returns at least n bytes of real text, paragraphs separated by
// blank lines: the rows of the committed general-train file, repeated
// (with a pass number, so that no paragraph repeats) until long enough.
func bigText(t *testing.T, n int) (string, []string) {
	t.Helper()
	_, texts, _, _ := readAll(t, filepath.Join("data", GPT2Tiny, "general-train.arrow"))
	var sb strings.Builder
	var paras []string
	for pass := 1; sb.Len() < n; pass++ {
		for _, p := range texts {
			p = fmt.Sprintf("%d. %s", pass, p)
			sb.WriteString(p)
			sb.WriteString("\n\n")
			paras = append(paras, oneLine(p))
			if sb.Len() >= n {
				break
			}
		}
	}
	return sb.String(), paras
}

// TestImportDocBytes: a single file of 3 MB is one document by default,
// too few for three splits, with an error that names the flags; with
// -doc-bytes it is cut into documents of whole paragraphs and every
// split gets some.
func TestImportDocBytes(t *testing.T) {
	text, paras := bigText(t, 3<<20)
	in := t.TempDir()
	writeFiles(t, in, map[string]string{"dump.dat": text})
	_, err := Import(ImportOptions{Domain: "big", TextDir: in, Out: t.TempDir(), Tokenizers: []string{GPT2Tiny}})
	if err == nil || !strings.Contains(err.Error(), "1 documents") ||
		!strings.Contains(err.Error(), "-doc-bytes N") || !strings.Contains(err.Error(), "-doc-sep REGEX") {
		t.Fatalf("one 3 MB file without -doc-bytes: error %v, want one naming -doc-bytes and -doc-sep", err)
	}
	// The expected documents, by the rule: paragraphs in order, a document
	// closing once it holds 64 KiB of text (the rest is the last one).
	const docBytes = 64 << 10
	wantDocs, n := 0, 0
	for i, p := range paras {
		if n += len(p); n >= docBytes || i == len(paras)-1 {
			wantDocs, n = wantDocs+1, 0
		}
	}
	rows, rep := importedRows(t, ImportOptions{Domain: "big", TextDir: in, DocBytes: docBytes})
	got := rep.Docs[Train] + rep.Docs[Validation] + rep.Docs[Test]
	t.Logf("%d bytes, %d paragraphs, %d documents: %v", len(text), len(paras), got, rep.Docs)
	if got != wantDocs {
		t.Errorf("%d documents, want %d", got, wantDocs)
	}
	for _, s := range Splits {
		if len(rows[s]) == 0 || rep.Docs[s] == 0 {
			t.Errorf("%s split: %d rows from %d documents", s, len(rows[s]), rep.Docs[s])
		}
	}
	slices.Sort(paras)
	if all := allRows(rows); !slices.Equal(all, paras) {
		t.Errorf("the rows are not the file's %d paragraphs, each once (%d rows)", len(paras), len(all))
	}
	// A smaller target makes more documents of the same rows.
	if _, rep2 := importedRows(t, ImportOptions{Domain: "big", TextDir: in, DocBytes: docBytes / 4}); rep2.Docs[Train] <= rep.Docs[Train] {
		t.Errorf("-doc-bytes %d: %v documents, -doc-bytes %d: %v", docBytes/4, rep2.Docs, docBytes, rep.Docs)
	}
	_, err = Import(ImportOptions{Domain: "big", TextDir: in, Out: t.TempDir(), DocBytes: 1 << 30})
	if err == nil || !strings.Contains(err.Error(), "lower -doc-bytes (now 1073741824)") {
		t.Errorf("-doc-bytes larger than the file: error %v", err)
	}
	_, err = Import(ImportOptions{Domain: "big", TextDir: in, Out: t.TempDir(), DocBytes: -1})
	if err == nil || !strings.Contains(err.Error(), "-doc-bytes -1") {
		t.Errorf("negative -doc-bytes: error %v", err)
	}
}

// TestImportDocSep: -doc-sep cuts a file at each match of a regular
// expression; the pieces' paragraphs are their rows.
func TestImportDocSep(t *testing.T) {
	var sb strings.Builder
	var want []string
	for i := range 30 {
		fmt.Fprintf(&sb, "entry %d, first paragraph\r\nstill the first\r\n\r\nentry %d, second\r\n=====\r\n", i, i)
		want = append(want, fmt.Sprintf("entry %d, first paragraph still the first", i), fmt.Sprintf("entry %d, second", i))
	}
	in := t.TempDir()
	writeFiles(t, in, map[string]string{"entries.txt": sb.String()})
	rows, rep := importedRows(t, ImportOptions{TextDir: in, DocSep: `(?m)^=====\r?$`})
	if n := rep.Docs[Train] + rep.Docs[Validation] + rep.Docs[Test]; n != 30 {
		t.Errorf("%d documents (%v), want 30", n, rep.Docs)
	}
	// A document's rows stay together in one split.
	for _, s := range Splits {
		for j, r := range rows[s] {
			var i int
			fmt.Sscanf(r, "entry %d", &i)
			if strings.Contains(r, "first") && (j+1 == len(rows[s]) || rows[s][j+1] != fmt.Sprintf("entry %d, second", i)) {
				t.Errorf("%s: row %q is not followed by its document's second paragraph", s, r)
			}
		}
	}
	slices.Sort(want)
	if got := allRows(rows); !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	_, err := Import(ImportOptions{Domain: "mine", TextDir: in, Out: t.TempDir(), DocSep: `(`})
	if err == nil || !strings.Contains(err.Error(), "-doc-sep") {
		t.Errorf("malformed -doc-sep: error %v", err)
	}
	_, err = Import(ImportOptions{Domain: "mine", TextDir: in, Out: t.TempDir(), DocSep: `no such marker`})
	if err == nil || !strings.Contains(err.Error(), `-doc-sep "no such marker" matched too rarely`) {
		t.Errorf("a separator that never matches: error %v", err)
	}
	_, err = Import(ImportOptions{Domain: "mine", TextDir: in, Out: t.TempDir(), DocSep: `=`, DocBytes: 10})
	if err == nil || !strings.Contains(err.Error(), "at most one of -doc-bytes and -doc-sep") {
		t.Errorf("-doc-bytes with -doc-sep: error %v", err)
	}
	_, err = Import(ImportOptions{Domain: "mine", JSONL: filepath.Join(in, "entries.txt"), Out: t.TempDir(), DocSep: `=`})
	if err == nil || !strings.Contains(err.Error(), "apply to -text-dir") {
		t.Errorf("-doc-sep with -jsonl: error %v", err)
	}
}

// TestImportInvalidUTF8: by default a byte that is not UTF-8 stops the
// import with the file, line and byte offset; -invalid-utf8 replace puts
// U+FFFD in its place and counts it.
func TestImportInvalidUTF8(t *testing.T) {
	in := t.TempDir()
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("f%02d.txt", i)] = fmt.Sprintf("file %d is fine\n", i)
	}
	// Latin-1 "café" and a lone continuation byte: 3 bad bytes, the first
	// at offset 7+3 = 10 ("line 1\n" then "caf"), on line 2.
	files["latin1.txt"] = "line 1\ncaf\xe9 au lait\n\nand \x80 \xff too\n"
	writeFiles(t, in, files)
	bad := filepath.Join(in, "latin1.txt")
	for _, policy := range []string{"", InvalidRefuse} {
		_, err := Import(ImportOptions{Domain: "mine", TextDir: in, Out: t.TempDir(), InvalidUTF8: policy})
		if err == nil || !strings.Contains(err.Error(), bad+" line 2, byte offset 10: byte 0xe9 is not UTF-8") ||
			!strings.Contains(err.Error(), "-invalid-utf8 replace") {
			t.Errorf("policy %q: error %v", policy, err)
		}
	}
	rows, rep := importedRows(t, ImportOptions{TextDir: in, InvalidUTF8: InvalidReplace})
	if rep.Replaced != 3 {
		t.Errorf("%d bytes replaced, want 3", rep.Replaced)
	}
	all := allRows(rows)
	for _, want := range []string{"line 1 caf\uFFFD au lait", "and \uFFFD \uFFFD too"} {
		if !slices.Contains(all, want) {
			t.Errorf("no row %q in %q", want, all)
		}
	}
	_, err := Import(ImportOptions{Domain: "mine", TextDir: in, Out: t.TempDir(), InvalidUTF8: "drop"})
	if err == nil || !strings.Contains(err.Error(), `-invalid-utf8 "drop"`) {
		t.Errorf("unknown policy: error %v", err)
	}

	// The same for a JSON-lines file: the offset is in the file.
	var sb strings.Builder
	for i := range 20 {
		fmt.Fprintf(&sb, "{\"text\": \"line %d\"}\n", i)
	}
	off := sb.Len() + len(`{"text": "caf`)
	sb.WriteString("{\"text\": \"caf\xe9\"}\n")
	jl := filepath.Join(t.TempDir(), "in.jsonl")
	writeFiles(t, filepath.Dir(jl), map[string]string{"in.jsonl": sb.String()})
	_, err = Import(ImportOptions{Domain: "mine", JSONL: jl, Out: t.TempDir()})
	if want := fmt.Sprintf("%s line 21, byte offset %d: byte 0xe9", jl, off); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("JSON lines: error %v, want %q", err, want)
	}
	rows, rep = importedRows(t, ImportOptions{JSONL: jl, InvalidUTF8: InvalidReplace})
	if all := allRows(rows); rep.Replaced != 1 || !slices.Contains(all, "caf\uFFFD") || rep.Inputs != 21 {
		t.Errorf("JSON lines replaced: %d bytes replaced, %d lines, rows %q", rep.Replaced, rep.Inputs, all)
	}
}

// TestImportTooFew: two short files are too few documents for three
// splits; the error says how to cut them.
func TestImportTooFew(t *testing.T) {
	in := t.TempDir()
	writeFiles(t, in, map[string]string{"a.txt": "one\n\ntwo\n\nthree\n", "b.txt": "four\n"})
	_, err := Import(ImportOptions{Domain: "mine", TextDir: in, Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "2 documents leave the") || !strings.Contains(err.Error(), "-doc-bytes N") {
		t.Fatalf("error %v", err)
	}
	// Cut at every paragraph, four documents are enough.
	if _, rep := importedRows(t, ImportOptions{TextDir: in, DocBytes: 1}); rep.Docs[Train]+rep.Docs[Validation]+rep.Docs[Test] != 4 {
		t.Errorf("-doc-bytes 1: documents %v, want 4 in all", rep.Docs)
	}
}
