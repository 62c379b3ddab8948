package datasets

import (
	_ "embed" // the BERT vocabulary is compiled in
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bertVocabFile is bert-base-uncased's vocab.txt (30,522 lines, line n =
// id n−1), copied from Go module github.com/sugarme/tokenizer v0.3.0,
// pretrained/model/bert-base-uncased-vocab.txt (Apache-2.0); see
// datasets/SOURCES.md.
//
//go:embed vocab/bert-base-uncased.txt
var bertVocabFile string

// BERT special token ids in bert-base-uncased.
const (
	BERTPad  = 0
	BERTUnk  = 100
	BERTCLS  = 101
	BERTSEP  = 102
	BERTMask = 103
)

// maxWordChars is BERT's limit: a longer word becomes [UNK].
const maxWordChars = 100

// wordPiece is BERT's uncased tokenizer: BasicTokenizer (clean, split CJK
// characters, lower-case, strip accents, split on whitespace and
// punctuation) followed by greedy longest-match-first WordPiece.
type wordPiece struct {
	name   string
	ids    map[string]int32
	tokens []string
}

func newWordPiece() (*wordPiece, error) {
	lines, err := bertVocab()
	if err != nil {
		return nil, err
	}
	return wordPieceFrom(BERTUncased, lines)
}

// bertVocab returns bert-base-uncased's vocabulary, id n at index n.
func bertVocab() ([]string, error) {
	lines := strings.Split(strings.TrimSuffix(bertVocabFile, "\n"), "\n")
	if len(lines) != 30522 {
		return nil, fmt.Errorf("datasets: vocab/bert-base-uncased.txt: %d lines, want 30522", len(lines))
	}
	for id, tok := range map[int32]string{BERTPad: "[PAD]", BERTUnk: "[UNK]", BERTCLS: "[CLS]", BERTSEP: "[SEP]", BERTMask: "[MASK]"} {
		if lines[id] != tok {
			return nil, fmt.Errorf("datasets: vocab/bert-base-uncased.txt line %d: %q, want %q", id+1, lines[id], tok)
		}
	}
	return lines, nil
}

func wordPieceFrom(name string, lines []string) (*wordPiece, error) {
	w := &wordPiece{name: name, ids: make(map[string]int32, len(lines)), tokens: lines}
	for i, tok := range lines {
		if _, dup := w.ids[tok]; dup {
			return nil, fmt.Errorf("datasets: %s vocabulary line %d: duplicate token %q", name, i+1, tok)
		}
		w.ids[tok] = int32(i)
	}
	return w, nil
}

// Vocabulary layout of bert-base-uncased that the cut below relies on:
// ids 0–103 are [PAD], [unused0–98], [UNK], [CLS], [SEP], [MASK]; ids
// 999–1995 are single characters; from id 1996 ("the") on, whole words and
// "##" continuations follow in the order of their frequency in BERT's
// training corpus.
const (
	bertSpecialEnd = 104  // ids below are the special block
	bertWordStart  = 1996 // first id after the character block
)

// newWordPieceCut returns bert-2k: bert-base-uncased's WordPiece cut to
// size entries, as gpt2-2k cuts GPT-2's BPE to its first ranks. It keeps
// ids 0–103 unchanged (so BERTPad … BERTMask hold), then every printable
// ASCII character of the character block (the basic tokenizer lower-cases,
// so no upper-case letters) and the "##" continuation of every lower-case
// letter and digit, so that every ASCII word segments without [UNK]; it
// fills the rest with the most frequent entries from id 1996 on, in the
// vocabulary's order. A word the cut vocabulary cannot segment (a
// non-ASCII character outside it) becomes [UNK], as in BERT.
func newWordPieceCut(name string, size int) (*wordPiece, error) {
	full, err := bertVocab()
	if err != nil {
		return nil, err
	}
	keep := make([]string, 0, size)
	seen := make(map[string]bool, size)
	add := func(tok string) {
		if !seen[tok] && len(keep) < size {
			seen[tok] = true
			keep = append(keep, tok)
		}
	}
	for _, tok := range full[:bertSpecialEnd] {
		add(tok)
	}
	for _, tok := range full[bertSpecialEnd:bertWordStart] {
		if len(tok) == 1 && tok[0] > ' ' && tok[0] < 0x7f {
			add(tok)
		}
	}
	for _, c := range "abcdefghijklmnopqrstuvwxyz0123456789" {
		add("##" + string(c))
	}
	for _, tok := range full[bertWordStart:] {
		add(tok)
	}
	if len(keep) != size {
		return nil, fmt.Errorf("datasets: %s: %d entries, want %d", name, len(keep), size)
	}
	return wordPieceFrom(name, keep)
}

func (w *wordPiece) Name() string   { return w.name }
func (w *wordPiece) VocabSize() int { return len(w.tokens) }

// Encode returns [CLS] pieces… [SEP]. Strings like "[MASK]" in the text
// are ordinary text (split on the brackets), never special tokens.
func (w *wordPiece) Encode(text string) []int32 {
	ids := []int32{BERTCLS}
	for _, word := range basicTokens(text) {
		ids = w.appendWord(ids, word)
	}
	return append(ids, BERTSEP)
}

// appendWord appends the WordPiece ids of one basic token: the longest
// vocabulary prefix, then the longest "##"-prefixed continuation, and so
// on; [UNK] for the whole word if some position has no match or the word
// is longer than 100 characters.
func (w *wordPiece) appendWord(ids []int32, word string) []int32 {
	if utf8.RuneCountInString(word) > maxWordChars {
		return append(ids, BERTUnk)
	}
	mark := len(ids)
	for start := 0; start < len(word); {
		end := len(word)
		found := int32(-1)
		for end > start {
			piece := word[start:end]
			if start > 0 {
				piece = "##" + piece
			}
			if id, ok := w.ids[piece]; ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if found < 0 {
			return append(ids[:mark], BERTUnk)
		}
		ids = append(ids, found)
		start = end
	}
	return ids
}

// Decode joins the pieces with spaces, gluing "##" continuations to the
// piece before, and drops [CLS], [SEP] and [PAD].
func (w *wordPiece) Decode(ids []int32) string {
	var sb strings.Builder
	for _, id := range ids {
		if id == BERTCLS || id == BERTSEP || id == BERTPad {
			continue
		}
		tok := "[UNK]"
		if id >= 0 && int(id) < len(w.tokens) {
			tok = w.tokens[id]
		}
		if rest, ok := strings.CutPrefix(tok, "##"); ok && sb.Len() > 0 {
			sb.WriteString(rest)
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(tok)
	}
	return sb.String()
}

// basicTokens is BERT's BasicTokenizer with do_lower_case: drop NUL,
// U+FFFD and control characters, treat every whitespace as a space, put
// spaces around CJK ideographs, lower-case, strip accents (NFD, drop
// non-spacing marks) and split off each punctuation character.
func basicTokens(text string) []string {
	var sb strings.Builder
	for _, r := range text {
		switch {
		case r == 0 || r == utf8.RuneError || isBERTControl(r):
		case isBERTSpace(r):
			sb.WriteByte(' ')
		case isCJK(r):
			sb.WriteByte(' ')
			sb.WriteRune(r)
			sb.WriteByte(' ')
		default:
			sb.WriteRune(r)
		}
	}
	var out []string
	for _, word := range strings.Fields(sb.String()) {
		word = stripAccents(strings.ToLower(word))
		start := 0
		for i, r := range word {
			if isBERTPunct(r) {
				if i > start {
					out = append(out, word[start:i])
				}
				out = append(out, string(r))
				start = i + utf8.RuneLen(r)
			}
		}
		if start < len(word) {
			out = append(out, word[start:])
		}
	}
	return out
}

// stripAccents decomposes s (NFD) and drops the non-spacing marks.
func stripAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var sb strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// isBERTSpace: space, tab, newline, carriage return, or category Zs.
func isBERTSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isBERTControl: a category C* character other than tab, newline, CR.
func isBERTControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

// isBERTPunct: ASCII non-alphanumeric printable characters, or category P*.
func isBERTPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK reports a CJK Unified Ideograph (the ranges BERT treats as words
// of their own; Hangul and kana are not among them).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
