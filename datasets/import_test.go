package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAll returns a file's metadata, texts, ids and labels.
func readAll(t *testing.T, path string) (Meta, []string, [][]int32, []int32) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var texts []string
	var ids [][]int32
	var labels []int32
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < rec.Len(); j++ {
			texts = append(texts, rec.Text(j))
			ids = append(ids, slices.Clone(rec.InputIDs(j)))
			labels = append(labels, rec.Label(j))
		}
	}
	return r.Meta(), texts, ids, labels
}

func TestImportTextDir(t *testing.T) {
	in := t.TempDir()
	// 40 documents so that every split gets some; nested folders too.
	for i := range 40 {
		dir := in
		if i%3 == 0 {
			dir = filepath.Join(in, "sub")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprintf("Doc %d first paragraph,\nwrapped.\n\n\nDoc %d second paragraph.\n", i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%02d.txt", i)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// -glob "*.txt" leaves out the notes.
	os.WriteFile(filepath.Join(in, "notes.md"), []byte("not a .txt"), 0o644)
	out := t.TempDir()
	rep, err := Import(ImportOptions{Domain: "mine", TextDir: in, Glob: "*.txt", Out: out, Tokenizers: []string{GPT2Small, BERTUncased}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 6 || rep.Inputs != 40 || rep.Replaced != 0 {
		t.Fatalf("%d files written from %d inputs (%d bytes replaced), want 6 from 40 (0)", len(rep.Files), rep.Inputs, rep.Replaced)
	}
	if n := rep.Docs[Train] + rep.Docs[Validation] + rep.Docs[Test]; n != 40 {
		t.Errorf("report counts %d documents (%v), want 40", n, rep.Docs)
	}
	docSplit := map[string]string{}
	rows := 0
	for _, s := range Splits {
		meta, texts, ids, labels := readAll(t, FilePath(out, GPT2Small, "mine", s))
		if meta.Domain != "mine" || meta.Split != s || meta.Tokenizer != GPT2Small || meta.VocabSize != 8192 || meta.Labels != nil || meta.Source != filepath.ToSlash(in) {
			t.Errorf("%s meta %+v", s, meta)
		}
		tok := mustTokenizer(t, GPT2Small)
		for j, text := range texts {
			var doc int
			if _, err := fmt.Sscanf(text, "Doc %d", &doc); err != nil {
				t.Fatalf("row %q: %v", text, err)
			}
			key := fmt.Sprint(doc)
			if prev, ok := docSplit[key]; ok && prev != s {
				t.Errorf("doc %d in %s and %s", doc, prev, s)
			}
			docSplit[key] = s
			if !slices.Equal(ids[j], tok.Encode(text)) || labels[j] != -1 {
				t.Errorf("row %q: ids or label wrong", text)
			}
			if strings.Contains(text, "\n") {
				t.Errorf("paragraph %q not joined onto one line", text)
			}
		}
		rows += len(texts)
		// The BERT file holds the same rows.
		_, btexts, bids, _ := readAll(t, FilePath(out, BERTUncased, "mine", s))
		if diff := cmp.Diff(texts, btexts); diff != "" {
			t.Errorf("bert rows differ from gpt2-8k rows:\n%s", diff)
		}
		if len(bids) > 0 && bids[0][0] != BERTCLS {
			t.Errorf("bert row does not start with [CLS]")
		}
	}
	if rows != 80 || len(docSplit) != 40 {
		t.Errorf("%d rows from %d docs, want 80 from 40", rows, len(docSplit))
	}
}

func TestImportJSONL(t *testing.T) {
	var sb strings.Builder
	for i := range 60 {
		label := []string{`"pos"`, `"neg"`, `"mixed"`}[i%3]
		fmt.Fprintf(&sb, `{"body": "Review number %d.", "stars": %s, "other": [1,2]}`+"\n", i, label)
		if i == 10 {
			sb.WriteString("\n") // blank lines are skipped
		}
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err := Import(ImportOptions{Domain: "reviews", JSONL: path, TextField: "body", LabelField: "stars",
		Out: out, Tokenizers: []string{BERTUncased}, Licence: "CC0-1.0"})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range Splits {
		meta, texts, _, labels := readAll(t, FilePath(out, BERTUncased, "reviews", s))
		if diff := cmp.Diff([]string{"mixed", "neg", "pos"}, meta.Labels); diff != "" {
			t.Errorf("labels not sorted names (-want +got):\n%s", diff)
		}
		if meta.Licence != "CC0-1.0" {
			t.Errorf("licence %q", meta.Licence)
		}
		for j, text := range texts {
			var i int
			fmt.Sscanf(text, "Review number %d.", &i)
			want := map[int]int32{0: 2, 1: 1, 2: 0}[i%3] // pos, neg, mixed → sorted ids
			if labels[j] != want {
				t.Errorf("%q: label %d, want %d", text, labels[j], want)
			}
		}
		total += len(texts)
	}
	if total != 60 {
		t.Errorf("%d rows, want 60", total)
	}

	// Errors name the line at fault.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"text\": \"ok\", \"label\": \"a\"}\n{\"text\": \"no label\"}\n"), 0o644)
	_, err = Import(ImportOptions{Domain: "x", JSONL: bad, LabelField: "label", Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("missing label: error %v, want one naming line 2", err)
	}
	os.WriteFile(bad, []byte("{\"text\": 3}\n"), 0o644)
	if _, err = Import(ImportOptions{Domain: "x", JSONL: bad, Out: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("non-string text: error %v", err)
	}
	if _, err = Import(ImportOptions{Domain: "Bad Name", JSONL: bad, Out: t.TempDir()}); err == nil {
		t.Error("bad domain name: no error")
	}
	if _, err = Import(ImportOptions{Domain: "x", Out: t.TempDir()}); err == nil {
		t.Error("no input: no error")
	}
}
