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
var DefaultTokenizers = []string{GPT2Tiny, BERTUncased}

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

// loadCorpus fetches what domain d needs and builds its corpus.
func loadCorpus(f *fetcher, d string) (*Corpus, error) {
	switch d {
	case DomainSpeech, DomainParty:
		dir, err := f.fetch(srcSOTU)
		if err != nil {
			return nil, err
		}
		speeches, err := loadSOTU(filepath.Join(dir, "package", "data"))
		if err != nil {
			return nil, err
		}
		if d == DomainSpeech {
			return speechCorpus(speeches), nil
		}
		return partyCorpus(speeches), nil
	case DomainScripture, DomainBook:
		text, err := f.fetch(srcKJVText)
		if err != nil {
			return nil, err
		}
		prog, err := f.fetch(srcKJV)
		if err != nil {
			return nil, err
		}
		out, err := kjvText(prog, text)
		if err != nil {
			return nil, err
		}
		verses, err := parseKJV(out)
		if err != nil {
			return nil, err
		}
		return kjvCorpus(d, verses), nil
	case DomainEmail, DomainSpam:
		dir, err := f.fetch(srcSpam)
		if err != nil {
			return nil, err
		}
		return emailCorpus(d, filepath.Join(dir, "package", "data"))
	case DomainComputing, DomainSubject:
		dir, err := f.fetch(srcFOLDOC)
		if err != nil {
			return nil, err
		}
		return foldocCorpus(d, filepath.Join(dir, "usr", "share", "dictd"))
	case DomainFiction, DomainProse, DomainGenre:
		dir, err := f.fetch(srcBrown)
		if err != nil {
			return nil, err
		}
		brown, err := loadBrown(filepath.Join(dir, "package"))
		if err != nil {
			return nil, err
		}
		var moby []mobyChapter
		if d == DomainFiction {
			mdir, err := f.fetch(srcMoby)
			if err != nil {
				return nil, err
			}
			if moby, err = loadMoby(filepath.Join(mdir, "package", "data")); err != nil {
				return nil, err
			}
		}
		return brownCorpus(d, brown, moby), nil
	}
	return nil, fmt.Errorf("unknown domain %q", d)
}

// proseUnits turns paragraphs into units: a paragraph longer than
// maxUnitBytes is regrouped into runs of sentences of about half that,
// and a single overlong sentence is cut.
func proseUnits(paras []string, label string) []Unit {
	var out []Unit
	for _, p := range paras {
		chunks := []string{p}
		if len(p) > maxUnitBytes {
			chunks = group(sentences(p), maxUnitBytes/2)
		}
		for _, c := range chunks {
			if c = clip(strings.TrimSpace(c), maxUnitBytes); c != "" {
				out = append(out, Unit{Text: c, Label: label})
			}
		}
	}
	return out
}

func speechCorpus(speeches []speech) *Corpus {
	c := &Corpus{Domain: DomainSpeech, Source: srcSOTU.ID(), Licence: srcSOTU.Licence}
	for _, s := range speeches {
		c.Docs = append(c.Docs, Doc{ID: "sotu/" + s.ID, Units: proseUnits(speechParagraphs(s.Text), "")})
	}
	return c
}

// partyCorpus keeps the speeches of Democratic and Republican presidents
// (the parties of the package's JSON; Democratic-Republican, Whig,
// Federalist and the rest are left out).
func partyCorpus(speeches []speech) *Corpus {
	c := &Corpus{Domain: DomainParty, Source: srcSOTU.ID(), Licence: srcSOTU.Licence,
		Labels: []string{"Democratic", "Republican"}}
	for _, s := range speeches {
		if s.Party == "Democratic" || s.Party == "Republican" {
			c.Docs = append(c.Docs, Doc{ID: "sotu/" + s.ID, Units: proseUnits(speechParagraphs(s.Text), s.Party)})
		}
	}
	return c
}

// kjvCorpus makes scripture (verses, unlabelled) or book (verses labelled
// by book group); a document is a book's chapter.
func kjvCorpus(d string, verses []verse) *Corpus {
	c := &Corpus{Domain: d, Source: srcKJVText.ID() + "," + srcKJV.ID(), Licence: srcKJVText.Licence}
	if d == DomainBook {
		c.Labels = kjvGroupLabels
	}
	for _, v := range verses {
		id := fmt.Sprintf("kjv/%s %d", v.Book, v.Chapter)
		if len(c.Docs) == 0 || c.Docs[len(c.Docs)-1].ID != id {
			c.Docs = append(c.Docs, Doc{ID: id})
		}
		u := Unit{Text: v.Text}
		if d == DomainBook {
			u.Label = kjvGroup(v.Book)
		}
		doc := &c.Docs[len(c.Docs)-1]
		doc.Units = append(doc.Units, u)
	}
	return c
}

// emailGroups are the SpamAssassin folders, in build order, and whether
// they hold spam.
var emailGroups = []struct {
	Name string
	Spam bool
}{{"easy-ham-1", false}, {"easy-ham-2", false}, {"hard-ham-1", false}, {"spam-1", true}, {"spam-2", true}}

// emailCorpus makes email (ham bodies) or spam (ham and spam bodies,
// labelled). Each email is a document of one unit; an email whose
// cleaned body is empty, or repeats an earlier body exactly, is dropped.
func emailCorpus(d, dir string) (*Corpus, error) {
	c := &Corpus{Domain: d, Source: srcSpam.ID(), Licence: srcSpam.Licence}
	if d == DomainSpam {
		c.Labels = []string{"ham", "spam"}
	}
	seen := map[string]bool{}
	for _, g := range emailGroups {
		if d == DomainEmail && g.Spam {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, g.Name, "*.txt"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("spam-assassin: no emails in %s", filepath.Join(dir, g.Name))
		}
		sort.Strings(files)
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("spam-assassin: %w", err)
			}
			body := clip(cleanEmail(raw), maxUnitBytes)
			if len(body) < 20 || seen[body] {
				continue
			}
			seen[body] = true
			label := ""
			if d == DomainSpam {
				label = map[bool]string{false: "ham", true: "spam"}[g.Spam]
			}
			c.Docs = append(c.Docs, Doc{ID: "spam-assassin/" + g.Name + "/" + filepath.Base(file),
				Units: []Unit{{Text: body, Label: label}}})
		}
	}
	return c, nil
}

// foldocCorpus makes computing (every entry) or subject (entries with one
// subject among the five commonest single subjects, labelled by it).
func foldocCorpus(d, dir string) (*Corpus, error) {
	dict, err := readGzip(filepath.Join(dir, "foldoc.dict.dz"))
	if err != nil {
		return nil, fmt.Errorf("foldoc: %w", err)
	}
	index, err := os.ReadFile(filepath.Join(dir, "foldoc.index"))
	if err != nil {
		return nil, fmt.Errorf("foldoc: %w", err)
	}
	entries, err := parseFOLDOC(dict, string(index))
	if err != nil {
		return nil, err
	}
	c := &Corpus{Domain: d, Source: srcFOLDOC.ID(), Licence: srcFOLDOC.Licence}
	if d == DomainSubject {
		entries, c.Labels = foldocSubjects(entries, 5)
	}
	seen := map[string]int{}
	for _, e := range entries {
		id := "foldoc/" + e.Headword
		if seen[id]++; seen[id] > 1 {
			id = fmt.Sprintf("%s#%d", id, seen[id]) // a headword with two entries
		}
		u := Unit{Text: clip(e.Text, maxUnitBytes)}
		if d == DomainSubject {
			u.Label = e.Subjects[0]
		}
		c.Docs = append(c.Docs, Doc{ID: id, Units: []Unit{u}})
	}
	return c, nil
}

// brownCorpus makes fiction (Moby-Dick chapters, then the Brown fiction
// texts), prose (the Brown non-fiction texts) or genre (all 500 Brown
// texts, labelled by genre group); units are paragraphs.
func brownCorpus(d string, brown []brownDoc, moby []mobyChapter) *Corpus {
	c := &Corpus{Domain: d, Source: srcBrown.ID(), Licence: srcBrown.Licence}
	switch d {
	case DomainFiction:
		c.Source = srcMoby.ID() + "," + srcBrown.ID()
		c.Licence = "Moby-Dick: " + srcMoby.Licence + "; " + srcBrown.Licence
		for _, ch := range moby {
			c.Docs = append(c.Docs, Doc{ID: "moby-dick/" + ch.ID, Units: proseUnits(ch.Paragraphs, "")})
		}
	case DomainGenre:
		c.Labels = brownGenreLabels
	}
	for _, b := range brown {
		g := brownGroup[b.Genre]
		fiction := g == "fiction"
		label := ""
		switch {
		case d == DomainGenre:
			label = g
		case d == DomainFiction && !fiction, d == DomainProse && fiction:
			continue
		}
		c.Docs = append(c.Docs, Doc{ID: "brown/" + b.ID, Units: proseUnits(b.Paragraphs, label)})
	}
	return c
}

// extraFor returns the extra metadata a tokenizer's files carry.
func extraFor(tok Tokenizer) map[string]string {
	switch tok.Name() {
	case GPT2:
		return map[string]string{ExtraSepID: fmt.Sprint(EndOfText)}
	case BERTUncased:
		return map[string]string{ExtraSepID: fmt.Sprint(BERTSEP), ExtraClsID: fmt.Sprint(BERTCLS),
			ExtraMaskID: fmt.Sprint(BERTMask), ExtraPadID: fmt.Sprint(BERTPad)}
	}
	return nil
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
