package datasets

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// A corpus is read into documents of units. A unit is one row of a
// dataset file (a paragraph, a verse, an email body, a dictionary entry);
// a document is what the train / validation / test split never divides
// (a speech, a Bible chapter, an email, an entry, a Brown text, a
// Moby-Dick chapter).

// Unit is one row's text and, for classification domains, its label name.
type Unit struct {
	Text  string
	Label string // "" for unlabelled domains
}

// Doc is a document: its id (unique within the corpus, stable across
// builds: it decides the document's split) and its units in order.
type Doc struct {
	ID    string
	Units []Unit
}

// Corpus is one domain ready to be split, capped and tokenised.
type Corpus struct {
	Domain  string
	Source  string   // package@version of each source, comma-separated
	Licence string   // per datasets/SOURCES.md
	Labels  []string // class names in label-id order; nil when unlabelled
	Docs    []Doc    // in a fixed source order
}

// labelIndex maps the corpus's label names to ids.
func (c *Corpus) labelIndex() map[string]int32 {
	m := make(map[string]int32, len(c.Labels))
	for i, l := range c.Labels {
		m[l] = int32(i)
	}
	return m
}

var (
	spaceRun  = regexp.MustCompile(`[ \t\f\v\r\x{a0}]+`)
	blankRun  = regexp.MustCompile(`\n{3,}`)
	blankLine = regexp.MustCompile(`\n[ \t]*\n`)
)

// tidy trims every line, collapses runs of spaces and tabs to one space,
// and runs of blank lines to one, and trims the result.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = spaceRun.ReplaceAllString(s, " ")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s = strings.Join(lines, "\n")
	s = blankRun.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}

// oneLine joins s's lines and collapses all whitespace to single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clip cuts s to at most max bytes, at the last whitespace before the
// limit when there is one in its second half, never inside a rune.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexAny(s[:cut], " \n\t"); i > max/2 {
		cut = i
	}
	return strings.TrimSpace(s[:cut])
}

// paragraphs splits text at blank lines and returns the non-empty
// paragraphs, each joined onto one line.
func paragraphs(text string) []string {
	var out []string
	for _, p := range blankLine.Split(strings.ReplaceAll(text, "\r\n", "\n"), -1) {
		if p = oneLine(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sentenceEnd finds sentence boundaries: a full stop, question or
// exclamation mark (and any closing quotes or brackets) followed by space
// and a capital, digit or opening quote.
var sentenceEnd = regexp.MustCompile(`[.!?]["'”’)\]]*\s+["“‘(]?[A-Z0-9]`)

// sentences splits one line of prose into sentences. Abbreviations such
// as "Mr. Smith" split too; callers regroup sentences into paragraphs, so
// a false boundary costs nothing.
func sentences(text string) []string {
	text = oneLine(text)
	var out []string
	start := 0
	for _, m := range sentenceEnd.FindAllStringIndex(text, -1) {
		// The boundary is after the punctuation run, before the spaces.
		end := m[0] + strings.IndexFunc(text[m[0]:m[1]], func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' })
		out = append(out, text[start:end])
		start = end + 1
		for start < len(text) && text[start] == ' ' {
			start++
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// group joins consecutive sentences into chunks of at least min bytes
// (the last chunk joins the one before it when shorter than min/2).
func group(sents []string, min int) []string {
	var out []string
	var cur strings.Builder
	for _, s := range sents {
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(s)
		if cur.Len() >= min {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		if len(out) > 0 && cur.Len() < min/2 {
			out[len(out)-1] += " " + cur.String()
		} else {
			out = append(out, cur.String())
		}
	}
	return out
}
