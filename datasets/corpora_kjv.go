package datasets

import (
	"fmt"
	"strconv"
	"strings"
)

// The King James Bible, as printed by Debian's bible program
// (`bible -p DIR -d bible.data 'gen1:1-rev22:21'`): a heading line
// "Book N" after a blank line for every chapter, then verses "  V text"
// whose long lines wrap onto unindented continuation lines.

// verse is one verse of the KJV.
type verse struct {
	Book           string
	Chapter, Verse int
	Text           string
}

// kjvBooks are the 66 books in canonical order, with their group for the
// book task: law (Genesis–Deuteronomy), history (Joshua–Esther), wisdom
// (poetry and wisdom: Job–Song of Solomon), prophets (Isaiah–Malachi) and
// new (the whole New Testament: gospels, Acts, epistles, Revelation).
var kjvBooks = []struct{ Name, Group string }{
	{"Genesis", "law"}, {"Exodus", "law"}, {"Leviticus", "law"}, {"Numbers", "law"}, {"Deuteronomy", "law"},
	{"Joshua", "history"}, {"Judges", "history"}, {"Ruth", "history"}, {"1 Samuel", "history"}, {"2 Samuel", "history"},
	{"1 Kings", "history"}, {"2 Kings", "history"}, {"1 Chronicles", "history"}, {"2 Chronicles", "history"},
	{"Ezra", "history"}, {"Nehemiah", "history"}, {"Esther", "history"},
	{"Job", "wisdom"}, {"Psalms", "wisdom"}, {"Proverbs", "wisdom"}, {"Ecclesiastes", "wisdom"}, {"Song of Solomon", "wisdom"},
	{"Isaiah", "prophets"}, {"Jeremiah", "prophets"}, {"Lamentations", "prophets"}, {"Ezekiel", "prophets"}, {"Daniel", "prophets"},
	{"Hosea", "prophets"}, {"Joel", "prophets"}, {"Amos", "prophets"}, {"Obadiah", "prophets"}, {"Jonah", "prophets"},
	{"Micah", "prophets"}, {"Nahum", "prophets"}, {"Habakkuk", "prophets"}, {"Zephaniah", "prophets"}, {"Haggai", "prophets"},
	{"Zechariah", "prophets"}, {"Malachi", "prophets"},
	{"Matthew", "new"}, {"Mark", "new"}, {"Luke", "new"}, {"John", "new"}, {"Acts", "new"},
	{"Romans", "new"}, {"1 Corinthians", "new"}, {"2 Corinthians", "new"}, {"Galatians", "new"}, {"Ephesians", "new"},
	{"Philippians", "new"}, {"Colossians", "new"}, {"1 Thessalonians", "new"}, {"2 Thessalonians", "new"},
	{"1 Timothy", "new"}, {"2 Timothy", "new"}, {"Titus", "new"}, {"Philemon", "new"}, {"Hebrews", "new"},
	{"James", "new"}, {"1 Peter", "new"}, {"2 Peter", "new"}, {"1 John", "new"}, {"2 John", "new"}, {"3 John", "new"},
	{"Jude", "new"}, {"Revelation", "new"},
}

// kjvGroupLabels are the book task's classes, in label-id order.
var kjvGroupLabels = []string{"law", "history", "wisdom", "prophets", "new"}

// kjvGroup returns the group of a book name ("" if unknown).
func kjvGroup(book string) string {
	for _, b := range kjvBooks {
		if b.Name == book {
			return b.Group
		}
	}
	return ""
}

// parseKJV parses the bible program's output into verses. It checks that
// chapters and verses count up from 1 and that every heading names a
// known book.
func parseKJV(out string) ([]verse, error) {
	var vs []verse
	book, chapter := "", 0
	prevBlank := true
	for n, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		n++
		switch {
		case strings.TrimSpace(line) == "":
			prevBlank = true
			continue
		case prevBlank && line[0] != ' ':
			i := strings.LastIndexByte(line, ' ')
			c, err := strconv.Atoi(line[i+1:])
			if i <= 0 || err != nil || kjvGroup(line[:i]) == "" {
				return nil, fmt.Errorf("kjv: line %d: %q is not a chapter heading \"Book N\"", n, line)
			}
			if line[:i] != book {
				book, chapter = line[:i], 0
			}
			if c != chapter+1 {
				return nil, fmt.Errorf("kjv: line %d: %s %d follows chapter %d", n, book, c, chapter)
			}
			chapter = c
		case strings.HasPrefix(line, "  "):
			f := strings.TrimLeft(line, " ")
			i := strings.IndexByte(f, ' ')
			v, err := strconv.Atoi(f[:max(i, 0)])
			if i <= 0 || err != nil || chapter == 0 {
				return nil, fmt.Errorf("kjv: line %d: %q is not a verse \"  N text\"", n, line)
			}
			if last := len(vs) - 1; v != 1 && (last < 0 || vs[last].Verse != v-1) {
				return nil, fmt.Errorf("kjv: line %d: %s %d:%d out of order", n, book, chapter, v)
			}
			vs = append(vs, verse{Book: book, Chapter: chapter, Verse: v, Text: strings.TrimSpace(f[i+1:])})
		default: // a continuation of the verse before
			if len(vs) == 0 {
				return nil, fmt.Errorf("kjv: line %d: text before the first verse", n)
			}
			vs[len(vs)-1].Text += " " + strings.TrimSpace(line)
		}
		prevBlank = false
	}
	for i := range vs {
		vs[i].Text = oneLine(vs[i].Text)
	}
	return vs, nil
}
