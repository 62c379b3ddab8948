package datasets

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// General English for pretraining base checkpoints (npm nlp-corpus):
// builds/doc-N.json, N = 0..99, each a JSON array of sentences of mixed
// register (lyrics, TV transcripts, SMS, State of the Union, 19th- and
// 20th-century prose, ...), shuffled, with no document structure.
//
// The general domain must share no text with the other domains (the
// five domains of a sequence, the prose interference stream, the
// labelled tasks, in any split), so that a base checkpoint has never
// seen a row it is later trained or evaluated on. A sentence of the
// corpus is dropped when
//
//   - its normalised form (lower-case, whitespace folded to single
//     spaces) equals the normalised form of a sentence (as sentences()
//     splits a unit) or of a whole unit of another domain, or one of its
//     own sentences of at least minPieceWords words does (an exact match);
//   - it shares a run of shingleWords consecutive words (letters and
//     digits only, lower-case) with another domain's text (a near match:
//     the same State of the Union sentence with other dashes or quotes,
//     or cut at another boundary, which exact hashing misses);
//   - it repeats an earlier sentence of the corpus, so that no sentence
//     sits in two of general's own splits.
//
// The other domains are read whole (every unit of every split, before
// the caps), which covers every committed file of theirs.
//
// The surviving sentences are grouped, in file order, into documents of
// generalDocSentences consecutive sentences (id nlp-corpus/doc-N#K, the
// K-th run of file N): the split assigns documents by the hash of that
// id as for every domain. A document's sentences are joined with spaces
// into rows of at most maxUnitBytes.

// generalDocSentences is the number of consecutive sentences of a file
// that make one document.
const generalDocSentences = 20

// GeneralCaps are the text budgets of the committed general files, used
// in place of the build's caps when those are DefaultCaps (see Build):
// pretraining wants more text than a task, and the committed files of
// both tokenizers stay under 12 MB (datasets/SOURCES.md gives the sizes).
var GeneralCaps = Caps{Train: 0, Validation: 200_000, Test: 200_000}

// normSentence is the form sentences are compared in: lower-case, runs
// of whitespace folded to one space, trimmed.
func normSentence(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// minPieceWords is the least number of words of a sentence inside a
// corpus entry that is matched on its own: shorter pieces are mostly the
// fragments a full stop after an abbreviation or an initial leaves.
const minPieceWords = 4

// shingleWords is the length of the word runs compared for near matches.
const shingleWords = 8

// sentenceSet holds the hashes of the normalised sentences of other
// domains and of their runs of shingleWords words, each with the set of
// domains (bit i = TextDomains()[i]) it came from.
type sentenceSet struct {
	sents, shingles map[uint64]uint32
	domains         []string
}

func newSentenceSet() *sentenceSet {
	return &sentenceSet{sents: map[uint64]uint32{}, shingles: map[uint64]uint32{}, domains: TextDomains()}
}

// words splits s into lower-case runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// shingleHashes calls fn with the hash of every run of shingleWords
// consecutive words of text.
func shingleHashes(text string, fn func(uint64)) {
	w := words(text)
	for k := 0; k+shingleWords <= len(w); k++ {
		fn(hash64(strings.Join(w[k:k+shingleWords], " ")))
	}
}

// addCorpus adds every unit of c, every sentence of it, and its shingles.
func (s *sentenceSet) addCorpus(c *Corpus) {
	bit := uint32(1) << slices.Index(s.domains, c.Domain)
	add := func(text string) {
		if n := normSentence(text); n != "" {
			s.sents[hash64(n)] |= bit
		}
	}
	for _, d := range c.Docs {
		for _, u := range d.Units {
			add(u.Text)
			for _, p := range sentences(u.Text) {
				add(p)
			}
			shingleHashes(u.Text, func(h uint64) { s.shingles[h] |= bit })
		}
	}
}

// match returns the domains holding sentence text exactly (exact) and
// those sharing a run of shingleWords words with it (near), as bit sets.
func (s *sentenceSet) match(text string) (exact, near uint32) {
	exact = s.sents[hash64(normSentence(text))]
	if parts := sentences(text); len(parts) > 1 {
		for _, p := range parts {
			if len(strings.Fields(p)) >= minPieceWords {
				exact |= s.sents[hash64(normSentence(p))]
			}
		}
	}
	shingleHashes(text, func(h uint64) { near |= s.shingles[h] })
	return exact, near
}

// GeneralReport counts what the general corpus's cleaning removed
// (sentences and their bytes, after whitespace folding).
type GeneralReport struct {
	Files            int // doc-N.json files read
	Sentences, Bytes int // read
	Empty            int // sentences with no text
	// Exact counts the sentences matching a sentence of another domain
	// exactly; ExactShort those of them under 5 words (a greeting, a
	// name).
	Exact, ExactBytes           int
	ExactShort, ExactShortBytes int
	// Near counts the further sentences sharing a run of shingleWords
	// words with another domain.
	Near, NearBytes int
	// ByDomain counts the sentences dropped (exact or near) per domain;
	// a sentence counts under every domain that has it.
	ByDomain map[string]int
	// Repeats are repeats of an earlier sentence of the corpus.
	Repeats, RepeatBytes int
	Kept, KeptBytes      int // sentences kept
	Docs                 int // documents made
}

// Write prints the report, one figure a line, with no example text (the
// corpus holds offensive slang).
func (r *GeneralReport) Write(w io.Writer) {
	fmt.Fprintf(w, "general: read %d sentences (%d bytes) from %d files of %s; %d empty\n", r.Sentences, r.Bytes, r.Files, srcNLPCorpus.ID(), r.Empty)
	fmt.Fprintf(w, "general: dropped %d sentences (%d bytes) equal to a sentence of another domain, %d of them (%d bytes) under 5 words\n",
		r.Exact, r.ExactBytes, r.ExactShort, r.ExactShortBytes)
	fmt.Fprintf(w, "general: dropped %d more sentences (%d bytes) sharing a run of %d words with another domain\n", r.Near, r.NearBytes, shingleWords)
	var parts []string
	for _, d := range TextDomains() {
		if n := r.ByDomain[d]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", d, n))
		}
	}
	fmt.Fprintf(w, "general: dropped sentences by domain (a sentence counts under each domain that has it): %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "general: dropped %d repeats of an earlier sentence (%d bytes)\n", r.Repeats, r.RepeatBytes)
	fmt.Fprintf(w, "general: kept %d sentences (%d bytes) in %d documents\n", r.Kept, r.KeptBytes, r.Docs)
}

var generalFile = regexp.MustCompile(`^doc-(\d+)\.json$`)

// loadGeneral reads dir's doc-N.json files in numeric order: each file's
// sentences, whitespace folded to single spaces.
func loadGeneral(dir string) ([][]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("nlp-corpus: %w", err)
	}
	var nums []int
	for _, e := range ents {
		if m := generalFile.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			nums = append(nums, n)
		}
	}
	if len(nums) == 0 {
		return nil, fmt.Errorf("nlp-corpus: no doc-N.json files in %s", dir)
	}
	slices.Sort(nums)
	var out [][]string
	for i, n := range nums {
		if n != i {
			return nil, fmt.Errorf("nlp-corpus: %s has doc-%d.json but no doc-%d.json", dir, n, i)
		}
		path := filepath.Join(dir, fmt.Sprintf("doc-%d.json", n))
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("nlp-corpus: %w", err)
		}
		var sents []string
		if err := json.Unmarshal(b, &sents); err != nil {
			return nil, fmt.Errorf("nlp-corpus: %s: want a JSON array of strings: %w", path, err)
		}
		for j, s := range sents {
			sents[j] = oneLine(s)
		}
		out = append(out, sents)
	}
	return out, nil
}

// generalCorpus deduplicates the files' sentences against other (the
// sentences of every other domain) and against themselves, and groups
// the rest into documents.
func generalCorpus(files [][]string, other *sentenceSet) (*Corpus, *GeneralReport) {
	c := &Corpus{Domain: DomainGeneral, Source: srcNLPCorpus.ID(), Licence: srcNLPCorpus.Licence}
	r := &GeneralReport{Files: len(files), ByDomain: map[string]int{}}
	seen := map[uint64]bool{}
	for n, sents := range files {
		var kept []string
		for _, s := range sents {
			r.Sentences++
			r.Bytes += len(s)
			if s == "" {
				r.Empty++
				continue
			}
			exact, near := other.match(s)
			switch {
			case exact != 0:
				r.Exact++
				r.ExactBytes += len(s)
				if len(strings.Fields(s)) < 5 {
					r.ExactShort++
					r.ExactShortBytes += len(s)
				}
			case near != 0:
				r.Near++
				r.NearBytes += len(s)
			}
			if m := exact | near; m != 0 {
				for i, d := range other.domains {
					if m&(1<<i) != 0 {
						r.ByDomain[d]++
					}
				}
				continue
			}
			h := hash64(normSentence(s))
			if seen[h] {
				r.Repeats++
				r.RepeatBytes += len(s)
				continue
			}
			seen[h] = true
			kept = append(kept, s)
			r.Kept++
			r.KeptBytes += len(s)
		}
		for k := 0; k*generalDocSentences < len(kept); k++ {
			run := kept[k*generalDocSentences : min((k+1)*generalDocSentences, len(kept))]
			doc := Doc{ID: fmt.Sprintf("nlp-corpus/doc-%d#%d", n, k)}
			for _, row := range joinMax(run, maxUnitBytes) {
				doc.Units = append(doc.Units, Unit{Text: row})
			}
			c.Docs = append(c.Docs, doc)
		}
	}
	r.Docs = len(c.Docs)
	return c, r
}

// joinMax joins consecutive sentences with spaces into rows of at most
// max bytes; a longer sentence is cut to max (clip).
func joinMax(sents []string, max int) []string {
	var out []string
	var cur strings.Builder
	for _, s := range sents {
		s = clip(s, max)
		if cur.Len() > 0 && cur.Len()+1+len(s) > max {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(s)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
