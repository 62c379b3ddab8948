package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ImportOptions configures Import.
type ImportOptions struct {
	// Domain names the new files (<Out>/<tokenizer>/<Domain>-<split>.arrow).
	Domain string
	// TextDir is a folder of .txt files (read recursively, in path
	// order): each file is one document, its paragraphs (separated by
	// blank lines) are the rows.
	TextDir string
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

var domainName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Import builds dataset files from the user's own text, with the same
// document-level splits, tokenizers and metadata as Build. Documents are
// split by a hash of their id: the file's path inside TextDir, or
// "line N" of the JSON-lines file.
func Import(opt ImportOptions) ([]FileStat, error) {
	if !domainName.MatchString(opt.Domain) {
		return nil, fmt.Errorf("data import: domain %q: want lower-case letters, digits, '_', '-' or '.'", opt.Domain)
	}
	if (opt.TextDir == "") == (opt.JSONL == "") {
		return nil, fmt.Errorf("data import: give exactly one of a text folder and a JSON-lines file")
	}
	if opt.Out == "" {
		return nil, fmt.Errorf("data import: no output folder")
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
	var c *Corpus
	var err error
	if opt.TextDir != "" {
		c, err = importTextDir(opt.TextDir)
	} else {
		c, err = importJSONL(opt.JSONL, opt.TextField, opt.LabelField)
	}
	if err != nil {
		return nil, fmt.Errorf("data import: %w", err)
	}
	c.Domain = opt.Domain
	c.Source, c.Licence = opt.Source, opt.Licence
	if c.Source == "" {
		c.Source = filepath.ToSlash(opt.TextDir + opt.JSONL)
	}
	if c.Licence == "" {
		c.Licence = "unknown"
	}
	stats, err := writeCorpus(c, toks, opt.Out, opt.Caps)
	if err != nil {
		return stats, fmt.Errorf("data import: %w", err)
	}
	return stats, nil
}

// importTextDir reads every .txt file under dir as one document.
func importTextDir(dir string) (*Corpus, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".txt") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .txt files", dir)
	}
	c := &Corpus{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("%s: not UTF-8 text", f)
		}
		rel, _ := filepath.Rel(dir, f)
		var units []Unit
		for _, p := range paragraphs(string(b)) {
			units = append(units, Unit{Text: p})
		}
		if len(units) > 0 {
			c.Docs = append(c.Docs, Doc{ID: filepath.ToSlash(rel), Units: units})
		}
	}
	return c, nil
}

// importJSONL reads one document per non-blank line.
func importJSONL(path, textField, labelField string) (*Corpus, error) {
	if textField == "" {
		textField = "text"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &Corpus{}
	labelSet := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
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
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
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
