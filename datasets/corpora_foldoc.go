package datasets

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// FOLDOC, the Free On-line Dictionary of Computing, in dictd format
// (Debian dict-foldoc): foldoc.dict (after gunzip) is the entries one
// after another; foldoc.index maps each headword to its entry's offset
// and length, in dictd's base-64 digits. An entry is its headword line(s),
// a blank line, and a body indented three spaces. A body paragraph may
// start with subject tags "<networking>" or "<text, tool>" (after a sense
// number "2. " in entries with several senses), and links are written
// {like this} or {text (URL)}. The last paragraph is the date of the last
// change "(2003-07-03)".

// foldocEntry is one dictionary entry.
type foldocEntry struct {
	Headword string
	Subjects []string // distinct subject tags, in order of appearance
	Text     string   // "headword: body" as plain text, tags and markup removed
}

// parseDictdNumber decodes dictd's base-64 numbers (A–Z a–z 0–9 + /,
// most significant digit first).
func parseDictdNumber(s string) (int64, error) {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	var n int64
	for _, c := range []byte(s) {
		d := strings.IndexByte(digits, c)
		if d < 0 || n > 1<<40 {
			return 0, fmt.Errorf("bad base-64 number %q", s)
		}
		n = n<<6 | int64(d)
	}
	return n, nil
}

// parseFOLDOC cuts dict into entries using index, in offset order; each
// entry appears once however many headwords point to it. The dictd
// bookkeeping entries (00-database-*) and the front matter tagged
// <introduction> are skipped, and so are entries whose body is shorter
// than 20 bytes once cleaned.
func parseFOLDOC(dict []byte, index string) ([]foldocEntry, error) {
	type span struct{ off, n int64 }
	seen := map[span]bool{}
	var spans []span
	for i, line := range strings.Split(strings.TrimRight(index, "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("foldoc.index line %d: want 3 tab-separated fields, got %d", i+1, len(f))
		}
		if strings.HasPrefix(f[0], "00-database") || strings.HasPrefix(f[0], "00database") {
			continue
		}
		off, err := parseDictdNumber(f[1])
		if err != nil {
			return nil, fmt.Errorf("foldoc.index line %d: offset: %w", i+1, err)
		}
		n, err := parseDictdNumber(f[2])
		if err != nil {
			return nil, fmt.Errorf("foldoc.index line %d: length: %w", i+1, err)
		}
		if off+n > int64(len(dict)) {
			return nil, fmt.Errorf("foldoc.index line %d: entry %q [%d, %d) runs past the end of the dictionary (%d bytes)", i+1, f[0], off, off+n, len(dict))
		}
		if s := (span{off, n}); !seen[s] {
			seen[s] = true
			spans = append(spans, s)
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	var out []foldocEntry
	for _, s := range spans {
		e, ok := parseFOLDOCEntry(string(dict[s.off : s.off+s.n]))
		if ok {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("foldoc: no entries found")
	}
	return out, nil
}

var (
	foldocTag     = regexp.MustCompile(`^(\d+\.\s+)?<([A-Za-z][A-Za-z0-9 ,\-]*)>\s*`)
	foldocDate    = regexp.MustCompile(`^\(\d{4}-\d{2}-\d{2}\)$`)
	foldocURLOnly = regexp.MustCompile(`\s*\{\s*\([^(){}]*\)\}`)
	foldocURLLink = regexp.MustCompile(`\{([^{}]*?)\s*\(([^(){}]*)\)\}`)
	foldocLink    = regexp.MustCompile(`\{([^{}]*)\}`)
	foldocBold    = regexp.MustCompile(`__([^_]+)__`)
)

// parseFOLDOCEntry cleans one raw entry. ok is false for entries to skip.
func parseFOLDOCEntry(raw string) (foldocEntry, bool) {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	head, body, found := strings.Cut(raw, "\n\n")
	if !found {
		return foldocEntry{}, false
	}
	e := foldocEntry{Headword: strings.TrimSpace(strings.SplitN(head, "\n", 2)[0])}
	var paras []string
	for _, p := range strings.Split(body, "\n\n") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		lines := strings.Split(strings.Trim(p, "\n"), "\n")
		pre := false // preformatted: some line indented past the body's 3 spaces
		for i, l := range lines {
			l = strings.TrimPrefix(l, "   ")
			if strings.HasPrefix(l, " ") {
				pre = true
			}
			lines[i] = strings.TrimRight(l, " \t")
		}
		text := strings.Join(lines, "\n")
		if !pre {
			text = oneLine(text)
		}
		if m := foldocTag.FindStringSubmatch(text); m != nil {
			for _, s := range strings.Split(m[2], ",") {
				if s = strings.TrimSpace(s); s != "" && !contains(e.Subjects, s) {
					e.Subjects = append(e.Subjects, s)
				}
			}
			text = m[1] + text[len(m[0]):]
		}
		if foldocDate.MatchString(strings.TrimSpace(text)) {
			continue
		}
		paras = append(paras, cleanFOLDOCMarkup(text))
	}
	if contains(e.Subjects, "introduction") {
		return foldocEntry{}, false
	}
	bodyText := strings.TrimSpace(strings.Join(paras, "\n"))
	if len(bodyText) < 20 {
		return foldocEntry{}, false
	}
	e.Text = e.Headword + ": " + bodyText
	return e, true
}

// cleanFOLDOCMarkup removes link braces ({text (URL)} → text, {(URL)} →
// nothing, {word} → word) and __emphasis__.
func cleanFOLDOCMarkup(s string) string {
	// Links may wrap across lines inside the braces; links do not nest, so
	// replacing innermost first converges.
	for range 3 {
		s = foldocURLOnly.ReplaceAllString(s, "") // a bare URL link, and the space before it
		s = foldocURLLink.ReplaceAllStringFunc(s, func(m string) string {
			return strings.TrimSpace(foldocURLLink.FindStringSubmatch(m)[1])
		})
		s = foldocLink.ReplaceAllString(s, "$1")
	}
	s = foldocBold.ReplaceAllString(s, "$1")
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// foldocSubjects returns the entries with exactly one subject among the
// k most common single subjects (ties broken by name), and those
// subjects in order of frequency.
func foldocSubjects(entries []foldocEntry, k int) ([]foldocEntry, []string) {
	count := map[string]int{}
	for _, e := range entries {
		if len(e.Subjects) == 1 {
			count[e.Subjects[0]]++
		}
	}
	subjects := make([]string, 0, len(count))
	for s := range count {
		subjects = append(subjects, s)
	}
	sort.Slice(subjects, func(i, j int) bool {
		a, b := subjects[i], subjects[j]
		if count[a] != count[b] {
			return count[a] > count[b]
		}
		return a < b
	})
	if len(subjects) > k {
		subjects = subjects[:k]
	}
	var out []foldocEntry
	for _, e := range entries {
		if len(e.Subjects) == 1 && contains(subjects, e.Subjects[0]) {
			out = append(out, e)
		}
	}
	return out, subjects
}
