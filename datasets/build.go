package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Domain names built by Build.
const (
	// Language-modelling domains (unlabelled).
	DomainSpeech    = "speech"    // State of the Union paragraphs
	DomainScripture = "scripture" // King James Bible verses
	DomainEmail     = "email"     // SpamAssassin ham bodies
	DomainComputing = "computing" // FOLDOC entries
	DomainFiction   = "fiction"   // Moby-Dick + Brown fiction paragraphs
	DomainProse     = "prose"     // Brown non-fiction paragraphs: the interference stream
	// Pretraining domain: general English sharing no sentence with the
	// domains above or below (see corpora_general.go).
	DomainGeneral = "general" // nlp-corpus sentences, in runs
	// Classification domains.
	DomainSpam    = "spam"    // ham / spam email bodies
	DomainGenre   = "genre"   // Brown paragraphs, 5 genre groups
	DomainSubject = "subject" // FOLDOC entries, top-5 single subjects
	DomainParty   = "party"   // SOTU paragraphs, Democratic / Republican
	DomainBook    = "book"    // KJV verses, 5 book groups
	// Image domain.
	DomainMNIST = "mnist"
)

// TextDomains lists the text domains in build order; general comes last,
// since it is deduplicated against all the others.
func TextDomains() []string {
	return []string{DomainSpeech, DomainScripture, DomainEmail, DomainComputing, DomainFiction, DomainProse,
		DomainSpam, DomainGenre, DomainSubject, DomainParty, DomainBook, DomainGeneral}
}

// DefaultCaps are the text budgets of the committed files, per domain and
// split, in bytes of unit text (see datasets/SOURCES.md for the sizes they
// give).
var DefaultCaps = Caps{Train: 560_000, Validation: 70_000, Test: 70_000}

// DefaultTokenizers are the tokenizers whose files are committed.
var DefaultTokenizers = []string{GPT2Tiny, BERTTiny}

// maxUnitBytes bounds a row's text: longer paragraphs are regrouped by
// sentence, longer emails and dictionary entries are cut at a word.
const maxUnitBytes = 2000

// BuildOptions configures Build.
type BuildOptions struct {
	// Cache holds fetched and unpacked packages (created if missing).
	Cache string
	// Out receives the capped files (datasets/data for the committed set).
	Out string
	// FullOut receives the full MNIST files (default Cache/data).
	FullOut string
	// Tokenizers names the text tokenizers (default DefaultTokenizers).
	Tokenizers []string
	// Only restricts the build to these domains (TextDomains and "mnist");
	// nil builds everything.
	Only []string
	// Caps bounds each text split (default DefaultCaps; a zero field keeps
	// the whole split). When it equals DefaultCaps, the general domain
	// takes GeneralCaps instead.
	Caps *Caps
	// Log receives progress lines (nil discards them).
	Log io.Writer
}

// FileStat describes one written file.
type FileStat struct {
	Path                     string
	Domain, Split, Tokenizer string
	Rows, Tokens, TextBytes  int64
	Bytes                    int64 // file size
	SHA256                   string
}

// Build fetches the source packages, cleans and splits the corpora,
// tokenises them and writes the Arrow files; it returns the files'
// stats in the order written. The output depends only on the pinned
// sources and the options: no map order, time or randomness reaches it,
// so building twice gives byte-identical files.
func Build(opt BuildOptions) ([]FileStat, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Cache == "" || opt.Out == "" {
		return nil, fmt.Errorf("data build: cache and output folders are required")
	}
	if opt.FullOut == "" {
		opt.FullOut = filepath.Join(opt.Cache, "data")
	}
	// The fetch commands run in folders of the cache: it must be absolute.
	cache, err := filepath.Abs(opt.Cache)
	if err != nil {
		return nil, fmt.Errorf("data build: cache folder: %w", err)
	}
	caps := DefaultCaps
	if opt.Caps != nil {
		caps = *opt.Caps
	}
	names := opt.Tokenizers
	if len(names) == 0 {
		names = DefaultTokenizers
	}
	var toks []Tokenizer
	for _, n := range names {
		if n == Pixels {
			return nil, fmt.Errorf("data build: tokenizer %q is for images; MNIST is built with the mnist domain", n)
		}
		t, err := NewTokenizer(n)
		if err != nil {
			return nil, fmt.Errorf("data build: %w", err)
		}
		toks = append(toks, t)
	}
	want := map[string]bool{}
	for _, d := range opt.Only {
		if d != DomainMNIST && !slices.Contains(TextDomains(), d) {
			return nil, fmt.Errorf("data build: unknown domain %q (valid: %s, %s)", d, strings.Join(TextDomains(), ", "), DomainMNIST)
		}
		want[d] = true
	}
	wanted := func(d string) bool { return len(want) == 0 || want[d] }

	f := &fetcher{cache: cache, log: opt.Log}
	var stats []FileStat
	// The general domain is deduplicated against every other text domain,
	// read whole (all splits, no caps), built or not.
	var others *sentenceSet
	if wanted(DomainGeneral) {
		others = newSentenceSet()
	}
	for _, d := range TextDomains() {
		var c *Corpus
		dcaps := caps
		switch {
		case d == DomainGeneral && wanted(d):
			dir, err := f.fetch(srcNLPCorpus)
			if err != nil {
				return stats, fmt.Errorf("data build: %s: %w", d, err)
			}
			files, err := loadGeneral(filepath.Join(dir, "package", "builds"))
			if err != nil {
				return stats, fmt.Errorf("data build: %s: %w", d, err)
			}
			var rep *GeneralReport
			c, rep = generalCorpus(files, others)
			rep.Write(opt.Log)
			if caps == DefaultCaps {
				dcaps = GeneralCaps
			}
		case d == DomainGeneral, !wanted(d) && others == nil:
			continue
		default:
			var err error
			if c, err = loadCorpus(f, d); err != nil {
				return stats, fmt.Errorf("data build: %s: %w", d, err)
			}
			if others != nil {
				others.addCorpus(c)
			}
			if !wanted(d) {
				fmt.Fprintf(opt.Log, "%s: read for the general domain's deduplication\n", d)
				continue
			}
		}
		fmt.Fprintf(opt.Log, "%s: %d documents, %d units\n", d, len(c.Docs), countUnits(c))
		st, err := writeCorpus(c, toks, opt.Out, dcaps)
		stats = append(stats, st...)
		if err != nil {
			return stats, fmt.Errorf("data build: %w", err)
		}
	}
	if wanted(DomainMNIST) {
		dir, err := f.fetch(srcMNIST)
		if err != nil {
			return stats, fmt.Errorf("data build: mnist: %w", err)
		}
		fmt.Fprintf(opt.Log, "mnist: full files in %s\n", filepath.Join(opt.FullOut, Pixels))
		if _, err := writeMNIST(dir, opt.FullOut, Caps{}); err != nil {
			return stats, fmt.Errorf("data build: %w", err)
		}
		st, err := writeMNIST(dir, opt.Out, MNISTSample)
		stats = append(stats, st...)
		if err != nil {
			return stats, fmt.Errorf("data build: %w", err)
		}
	}
	return stats, nil
}

func countUnits(c *Corpus) int {
	n := 0
	for _, d := range c.Docs {
		n += len(d.Units)
	}
	return n
}

// writeCorpus splits and caps c, tokenises it with each tokenizer and
// writes one file per tokenizer and split under out.
func writeCorpus(c *Corpus, toks []Tokenizer, out string, caps Caps) ([]FileStat, error) {
	sel := splitUnits(c, caps)
	labels := c.labelIndex()
	var stats []FileStat
	for _, tok := range toks {
		if err := os.MkdirAll(filepath.Join(out, tok.Name()), 0o755); err != nil {
			return stats, err
		}
		for _, s := range Splits {
			refs := sel[s]
			if len(refs) == 0 {
				return stats, fmt.Errorf("domain %s: the %s split is empty (%d documents in all)", c.Domain, s, len(c.Docs))
			}
			path := FilePath(out, tok.Name(), c.Domain, s)
			w, err := Create(path, Meta{Domain: c.Domain, Split: s, Tokenizer: tok.Name(), VocabSize: tok.VocabSize(),
				Source: c.Source, Licence: c.Licence, Labels: c.Labels, Extra: extraFor(tok)})
			if err != nil {
				return stats, err
			}
			for _, r := range refs {
				u := c.Docs[r.doc].Units[r.unit]
				label := int32(-1)
				if c.Labels != nil {
					l, ok := labels[u.Label]
					if !ok {
						w.Abort()
						return stats, fmt.Errorf("domain %s: document %s unit %d: label %q is not one of %v", c.Domain, c.Docs[r.doc].ID, r.unit, u.Label, c.Labels)
					}
					label = l
				}
				if err := w.Write(Row{Text: u.Text, InputIDs: tok.Encode(u.Text), Label: label}); err != nil {
					w.Abort()
					return stats, fmt.Errorf("document %s unit %d: %w", c.Docs[r.doc].ID, r.unit, err)
				}
			}
			if err := w.Close(); err != nil {
				return stats, err
			}
			st, err := statFile(path)
			if err != nil {
				return stats, err
			}
			stats = append(stats, st)
		}
	}
	return stats, nil
}

// statFile reads a written file back and measures it.
func statFile(path string) (FileStat, error) {
	r, err := Open(path)
	if err != nil {
		return FileStat{}, err
	}
	defer r.Close()
	m := r.Meta()
	st := FileStat{Path: path, Domain: m.Domain, Split: m.Split, Tokenizer: m.Tokenizer, Rows: r.NumRows()}
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			return FileStat{}, err
		}
		st.Tokens += int64(rec.Tokens())
		for j := 0; j < rec.Len(); j++ {
			st.TextBytes += int64(len(rec.Text(j)))
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return FileStat{}, err
	}
	sum := sha256.Sum256(b)
	st.Bytes, st.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
	return st, nil
}

// ScanStats measures every *.arrow file under dir, in path order.
func ScanStats(dir string) ([]FileStat, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(p, ".arrow") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	sort.Strings(paths)
	var out []FileStat
	for _, p := range paths {
		st, err := statFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// WriteTable writes stats as a Markdown table (paths relative to base)
// with a total line.
func WriteTable(w io.Writer, stats []FileStat, base string) error {
	fmt.Fprintf(w, "| %-34s | %7s | %9s | %10s | %10s | %-16s |\n", "file", "rows", "tokens", "text bytes", "file bytes", "sha256 (prefix)")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|%s:|%s|\n", strings.Repeat("-", 36), strings.Repeat("-", 8), strings.Repeat("-", 10), strings.Repeat("-", 11), strings.Repeat("-", 11), strings.Repeat("-", 18))
	var rows, tokens, text, size int64
	for _, s := range stats {
		p := s.Path
		if rel, err := filepath.Rel(base, s.Path); err == nil {
			p = rel
		}
		fmt.Fprintf(w, "| %-34s | %7d | %9d | %10d | %10d | %-16s |\n", filepath.ToSlash(p), s.Rows, s.Tokens, s.TextBytes, s.Bytes, s.SHA256[:16])
		rows += s.Rows
		tokens += s.Tokens
		text += s.TextBytes
		size += s.Bytes
	}
	_, err := fmt.Fprintf(w, "| %-34s | %7d | %9d | %10d | %10d | %-16s |\n", fmt.Sprintf("total (%d files)", len(stats)), rows, tokens, text, size, "")
	return err
}
