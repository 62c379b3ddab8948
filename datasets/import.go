package datasets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ImportOptions configures Import. The comments name the flags of
// sleepbench data import that set each field.
type ImportOptions struct {
	// Domain names the new files (<Out>/<tokenizer>/<Domain>-<split>.arrow).
	Domain string
	// TextDir is a folder of text files (-text-dir), read recursively in
	// path order: every regular file, or those matching Glob; names
	// starting with "." (hidden files and folders) are skipped. By
	// default each file is one document whose paragraphs (separated by
	// blank lines) are the rows; DocBytes or DocSep cut a file into
	// several documents.
	TextDir string
	// Glob (-glob) keeps only the files whose name matches it
	// (path.Match syntax, e.g. "*.txt"); a pattern holding "/" is matched
	// against the path inside TextDir instead.
	Glob string
	// DocBytes (-doc-bytes) cuts each file into documents of consecutive
	// paragraphs: a document closes once it holds DocBytes bytes of text.
	DocBytes int
	// DocSep (-doc-sep) cuts each file into documents at every match of
	// this regular expression (Go syntax, e.g. `\n` for one document a
	// line, `(?m)^=====$` for a marker line).
	DocSep string
	// InvalidUTF8 (-invalid-utf8) says what to do with bytes that are not
	// UTF-8: InvalidRefuse (the default, "") stops with the file, line
	// and byte offset of the first one; InvalidReplace replaces each such
	// byte with U+FFFD and counts them in the report.
	InvalidUTF8 string
	// JSONL is a JSON-lines file: each line is one document and one row.
	JSONL string
	// TextField and LabelField name the JSON fields of the text (default
	// "text") and of the optional label (a string or a number). With a
	// label field every line needs a label; label ids follow the sorted
	// label names.
	TextField, LabelField string
	// Tokenizers (default DefaultTokenizers) and the output folder.
	Tokenizers []string
	Out        string
	// Source and Licence go into the files' metadata (Source defaults to
	// the input's path).
	Source, Licence string
	// Caps bounds each split's text (zero: keep everything).
	Caps Caps
}

// The values of ImportOptions.InvalidUTF8.
const (
	InvalidRefuse  = "refuse"
	InvalidReplace = "replace"
)

// ImportReport says what Import read and wrote.
type ImportReport struct {
	Files    []FileStat     // the files written
	Inputs   int            // text files read, or lines of the JSON-lines file
	Docs     map[string]int // documents per split
	Replaced int            // bytes that were not UTF-8, replaced with U+FFFD
}

var domainName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Import builds dataset files from the user's own text, with the same
// document-level splits, tokenizers and metadata as Build. Documents are
// split by a hash of their id: the file's path inside TextDir (with
// "#k" for the k-th document cut from it), or "line N" of the JSON-lines
// file.
func Import(opt ImportOptions) (*ImportReport, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("data import: %w", err)
	}
	names := opt.Tokenizers
	if len(names) == 0 {
		names = DefaultTokenizers
	}
	var toks []Tokenizer
	for _, n := range names {
		t, err := NewTokenizer(n)
		if err != nil {
			return nil, fmt.Errorf("data import: %w", err)
		}
		if n == Pixels {
			return nil, fmt.Errorf("data import: tokenizer %q is for images, not text", n)
		}
		toks = append(toks, t)
	}
	rep := &ImportReport{Docs: map[string]int{}}
	var c *Corpus
	var err error
	if opt.TextDir != "" {
		c, err = importTextDir(opt, rep)
	} else {
		c, err = importJSONL(opt, rep)
	}
	if err != nil {
		return nil, fmt.Errorf("data import: %w", err)
	}
	c.Domain = opt.Domain
	for _, s := range assignSplits(c) {
		rep.Docs[s]++
	}
	for _, s := range Splits {
		if rep.Docs[s] == 0 {
			return nil, fmt.Errorf("data import: %w", tooFew(opt, len(c.Docs), s))
		}
	}
	c.Source, c.Licence = opt.Source, opt.Licence
	if c.Source == "" {
		c.Source = filepath.ToSlash(opt.TextDir + opt.JSONL)
	}
	if c.Licence == "" {
		c.Licence = "unknown"
	}
	rep.Files, err = writeCorpus(c, toks, opt.Out, opt.Caps)
	if err != nil {
		return rep, fmt.Errorf("data import: %w", err)
	}
	return rep, nil
}

// check rejects contradictory or malformed options, naming the flag.
func (opt *ImportOptions) check() error {
	if !domainName.MatchString(opt.Domain) {
		return fmt.Errorf("domain %q: want lower-case letters, digits, '_', '-' or '.'", opt.Domain)
	}
	if (opt.TextDir == "") == (opt.JSONL == "") {
		return fmt.Errorf("give exactly one of a text folder (-text-dir) and a JSON-lines file (-jsonl)")
	}
	if opt.Out == "" {
		return fmt.Errorf("no output folder")
	}
	if opt.JSONL != "" && (opt.Glob != "" || opt.DocBytes != 0 || opt.DocSep != "") {
		return fmt.Errorf("-glob, -doc-bytes and -doc-sep apply to -text-dir; each line of a JSON-lines file is one document")
	}
	if opt.DocBytes < 0 {
		return fmt.Errorf("-doc-bytes %d: want a positive number of bytes", opt.DocBytes)
	}
	if opt.DocBytes > 0 && opt.DocSep != "" {
		return fmt.Errorf("give at most one of -doc-bytes and -doc-sep")
	}
	if opt.DocSep != "" {
		if _, err := regexp.Compile(opt.DocSep); err != nil {
			return fmt.Errorf("-doc-sep: %w", err)
		}
	}
	if opt.Glob != "" {
		if _, err := path.Match(opt.Glob, ""); err != nil {
			return fmt.Errorf("-glob %q: %w", opt.Glob, err)
		}
	}
	switch opt.InvalidUTF8 {
	case "", InvalidRefuse, InvalidReplace:
	default:
		return fmt.Errorf("-invalid-utf8 %q: want %s or %s", opt.InvalidUTF8, InvalidRefuse, InvalidReplace)
	}
	return nil
}

// tooFew explains a split left without documents and how to get more.
func tooFew(opt ImportOptions, docs int, split string) error {
	if opt.JSONL != "" {
		return fmt.Errorf("%s: %d documents (one a non-blank line) leave the %s split empty; train, validation and test need at least 3 (about 10 give each a fair share)",
			opt.JSONL, docs, split)
	}
	how := "cut the files into documents with -doc-bytes N (paragraphs grouped to about N bytes each) or -doc-sep REGEX (a document between matches, e.g. -doc-sep '\\n' for one a line)"
	switch {
	case opt.DocBytes > 0:
		how = fmt.Sprintf("lower -doc-bytes (now %d) or cut at a separator with -doc-sep REGEX instead", opt.DocBytes)
	case opt.DocSep != "":
		how = fmt.Sprintf("-doc-sep %q matched too rarely: choose a separator that occurs more often, or use -doc-bytes N instead", opt.DocSep)
	}
	return fmt.Errorf("%s: %d documents leave the %s split empty; train, validation and test need at least 3: %s",
		opt.TextDir, docs, split, how)
}

// importTextDir reads the files under opt.TextDir, one or more documents
// each.
func importTextDir(opt ImportOptions, rep *ImportReport) (*Corpus, error) {
	dir := opt.TextDir
	var files []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		if !e.Type().IsRegular() {
			// A link to a regular file counts as one.
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
		}
		if opt.Glob != "" {
			rel, _ := filepath.Rel(dir, p)
			name := e.Name()
			if strings.Contains(opt.Glob, "/") {
				name = filepath.ToSlash(rel)
			}
			if ok, _ := path.Match(opt.Glob, name); !ok {
				return nil
			}
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		if opt.Glob != "" {
			return nil, fmt.Errorf("%s: no files match -glob %q", dir, opt.Glob)
		}
		return nil, fmt.Errorf("%s: no files", dir)
	}
	var sep *regexp.Regexp
	if opt.DocSep != "" {
		sep = regexp.MustCompile(opt.DocSep) // checked by opt.check
	}
	c := &Corpus{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		text, n, err := validUTF8(f, b, opt.InvalidUTF8)
		if err != nil {
			return nil, err
		}
		rep.Inputs++
		rep.Replaced += n
		rel, _ := filepath.Rel(dir, f)
		c.Docs = append(c.Docs, splitDocs(filepath.ToSlash(rel), text, opt.DocBytes, sep)...)
	}
	return c, nil
}

// splitDocs cuts one file's text into documents whose rows are its
// paragraphs: the whole file when docBytes is 0 and sep nil (its id is
// id), else "id#1", "id#2", … in file order. Documents without text are
// dropped.
func splitDocs(id, text string, docBytes int, sep *regexp.Regexp) []Doc {
	units := func(text string) []Unit {
		var out []Unit
		for _, p := range paragraphs(text) {
			out = append(out, Unit{Text: p})
		}
		return out
	}
	var docs []Doc
	add := func(us []Unit) {
		if len(us) > 0 {
			docs = append(docs, Doc{ID: id + "#" + strconv.Itoa(len(docs)+1), Units: us})
		}
	}
	switch {
	case sep != nil:
		for _, piece := range sep.Split(text, -1) {
			add(units(piece))
		}
	case docBytes > 0:
		var cur []Unit
		n := 0
		for _, u := range units(text) {
			cur = append(cur, u)
			if n += len(u.Text); n >= docBytes {
				add(cur)
				cur, n = nil, 0
			}
		}
		add(cur)
	default:
		if us := units(text); len(us) > 0 {
			docs = []Doc{{ID: id, Units: us}}
		}
	}
	return docs
}

// validUTF8 returns b as text under the policy (see
// ImportOptions.InvalidUTF8), with the number of bytes replaced. The
// error names the file, the line and the byte offset of the first
// invalid byte.
func validUTF8(name string, b []byte, policy string) (string, int, error) {
	if utf8.Valid(b) {
		return string(b), 0, nil
	}
	var sb strings.Builder
	sb.Grow(len(b) + 16)
	n := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if policy != InvalidReplace {
				line := 1 + bytes.Count(b[:i], []byte{'\n'})
				return "", 0, fmt.Errorf("%s line %d, byte offset %d: byte 0x%02x is not UTF-8 (re-encode the file, or pass -invalid-utf8 %s to replace such bytes with U+FFFD)",
					name, line, i, b[i], InvalidReplace)
			}
			sb.WriteRune(utf8.RuneError)
			n++
		} else {
			sb.Write(b[i : i+size])
		}
		i += size
	}
	return sb.String(), n, nil
}

// importJSONL reads one document per non-blank line.
func importJSONL(opt ImportOptions, rep *ImportReport) (*Corpus, error) {
	path, textField, labelField := opt.JSONL, opt.TextField, opt.LabelField
	if textField == "" {
		textField = "text"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// Invalid bytes are found (or replaced) in the file as a whole, so
	// that the error gives the offset in the file; the JSON decoder would
	// otherwise replace them silently.
	data, n, err := validUTF8(path, b, opt.InvalidUTF8)
	if err != nil {
		return nil, err
	}
	rep.Replaced += n
	c := &Corpus{}
	labelSet := map[string]bool{}
	for i, ln := range strings.SplitAfter(data, "\n") {
		n := i + 1 // line numbers count from 1
		if ln == "" {
			continue // after the final newline
		}
		rep.Inputs++
		line := strings.TrimSpace(ln)
		if len(line) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		var text string
		raw, ok := obj[textField]
		if !ok {
			return nil, fmt.Errorf("%s line %d: no field %q", path, n, textField)
		}
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, fmt.Errorf("%s line %d: field %q: %w", path, n, textField, err)
		}
		u := Unit{Text: strings.TrimSpace(text)}
		if labelField != "" {
			l, err := jsonLabel(obj[labelField])
			if err != nil {
				return nil, fmt.Errorf("%s line %d: field %q: %w", path, n, labelField, err)
			}
			u.Label = l
			labelSet[l] = true
		}
		if u.Text == "" {
			continue
		}
		c.Docs = append(c.Docs, Doc{ID: "line " + strconv.Itoa(n), Units: []Unit{u}})
	}
	if len(c.Docs) == 0 {
		return nil, fmt.Errorf("%s: no rows with text", path)
	}
	if labelField != "" {
		for l := range labelSet {
			c.Labels = append(c.Labels, l)
		}
		sort.Strings(c.Labels)
	}
	return c, nil
}

// jsonLabel reads a label given as a JSON string or number.
func jsonLabel(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf("missing label")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" || strings.Contains(s, ",") {
			return "", fmt.Errorf("label %q is empty or holds a comma", s)
		}
		return s, nil
	}
	var num json.Number
	if err := json.Unmarshal(raw, &num); err != nil {
		return "", fmt.Errorf("label %s is not a string or number", raw)
	}
	return num.String(), nil
}
