package datasets

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	tiktoken "github.com/tiktoken-go/tokenizer"
)

func mustTokenizer(t testing.TB, name string) Tokenizer {
	t.Helper()
	tok, err := NewTokenizer(name)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestNewTokenizerUnknown(t *testing.T) {
	_, err := NewTokenizer("gpt3")
	if err == nil {
		t.Fatal("NewTokenizer(gpt3): no error")
	}
	for _, name := range TokenizerNames() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list %q", err, name)
		}
		if got := mustTokenizer(t, name).Name(); got != name {
			t.Errorf("NewTokenizer(%q).Name() = %q", name, got)
		}
	}
}

// GPT-2 ids known from the published GPT-2 vocabulary (encoder.json) and
// from the Hugging Face GPT-2 documentation examples.
func TestGPT2KnownIDs(t *testing.T) {
	tok := mustTokenizer(t, GPT2)
	if tok.VocabSize() != 50257 {
		t.Errorf("VocabSize = %d, want 50257", tok.VocabSize())
	}
	cases := []struct {
		text string
		want []int32
	}{
		{"Hello world", []int32{15496, 995}},
		{" the", []int32{262}},
		{"Hello, my dog is cute", []int32{15496, 11, 616, 3290, 318, 13779}},
		{"!", []int32{0}},
		{"\n", []int32{198}},
		// The special token's string is ordinary text: < | end of text | >.
		{"<|endoftext|>", []int32{27, 91, 437, 1659, 5239, 91, 29}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, tok.Encode(c.text)); diff != "" {
			t.Errorf("Encode(%q) (-want +got):\n%s", c.text, diff)
		}
	}
	if got := tok.Decode([]int32{EndOfText}); got != "<|endoftext|>" {
		t.Errorf("Decode(EndOfText) = %q", got)
	}
}

// sampleText mixes the cases a byte-level BPE gets wrong when it is
// subtly off: contractions, digits, runs of spaces and newlines, accents,
// CJK, emoji, punctuation runs, a long unbroken word.
const sampleText = "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n\n" +
	"  Don't we'll they're I'm you've he'd 1234567 3.14159 $5,000,000.00   \t\n\n\n" +
	"naïve café résumé Zürich Ærøskøbing — “quoted” ‘single’ … 東京タワー 😀👍🏽 مرحبا Привет мир\n" +
	"Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism {{}}[[]]((<<>>)) ...!!!???\n" +
	"foo@example.org http://x.y/z?q=1&r=2 C++ x+=1; if(a==b){return -1;}    end   "

// TestGPT2MatchesTiktoken checks our BPE, line by line, against the
// module's own encoder: same ranks, same regex, so the ids must agree.
func TestGPT2MatchesTiktoken(t *testing.T) {
	tok := mustTokenizer(t, GPT2)
	ref, err := tiktoken.Get(tiktoken.R50kBase)
	if err != nil {
		t.Fatal(err)
	}
	texts := append(strings.Split(sampleText, "\n"), sampleText, strings.Repeat("ab", 300), strings.Repeat(" ", 200)+"x")
	for _, text := range texts {
		want, _, err := ref.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		got := tok.Encode(text)
		if len(got) != len(want) {
			t.Errorf("Encode(%q): %d ids, tiktoken %d", text, len(got), len(want))
			continue
		}
		for i := range got {
			if uint(got[i]) != want[i] {
				t.Errorf("Encode(%q)[%d] = %d, tiktoken %d", text, i, got[i], want[i])
				break
			}
		}
		if dec := tok.Decode(got); dec != text {
			t.Errorf("Decode(Encode(%q)) = %q", text, dec)
		}
	}
}

func TestGPT2SmallFrequentTextEqualsGPT2(t *testing.T) {
	full := mustTokenizer(t, GPT2)
	small := mustTokenizer(t, GPT2Small)
	if small.VocabSize() != 8192 {
		t.Errorf("VocabSize = %d, want 8192", small.VocabSize())
	}
	// Common words: every GPT-2 token here has a rank below 8192, so the
	// truncated BPE must reach the same ids.
	text := "The man said that he would go to the house in the morning, and all of them were there."
	want := full.Encode(text)
	for _, id := range want {
		if id >= 8192 {
			t.Fatalf("test text has a rare GPT-2 token %d (%q); pick commoner words", id, full.Decode([]int32{id}))
		}
	}
	if diff := cmp.Diff(want, small.Encode(text)); diff != "" {
		t.Errorf("gpt2-8k differs from gpt2 on frequent text (-gpt2 +gpt2-8k):\n%s", diff)
	}
}

func TestGPT2SmallRareWords(t *testing.T) {
	full := mustTokenizer(t, GPT2)
	small := mustTokenizer(t, GPT2Small)
	for _, text := range strings.Split(sampleText, "\n") {
		ids := small.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= 8192 {
				t.Fatalf("Encode(%q) has id %d outside [0, 8192)", text, id)
			}
		}
		if dec := small.Decode(ids); dec != text {
			t.Errorf("Decode(Encode(%q)) = %q", text, dec)
		}
		if len(ids) < len(full.Encode(text)) {
			t.Errorf("Encode(%q): gpt2-8k gives fewer tokens than gpt2", text)
		}
	}
	// "Pneumonoultramicroscopicsilicovolcanoconiosis" uses ranks ≥ 8192 in
	// GPT-2, so the truncated BPE must need more pieces.
	w := "Pneumonoultramicroscopicsilicovolcanoconiosis"
	if a, b := len(full.Encode(w)), len(small.Encode(w)); b <= a {
		t.Errorf("%s: gpt2 %d ids, gpt2-8k %d; want gpt2-8k longer", w, a, b)
	}
}

// BERT ids read off bert-base-uncased's vocab.txt (id = line − 1) and the
// Hugging Face BertModel documentation example.
func TestBERTKnownIDs(t *testing.T) {
	tok := mustTokenizer(t, BERTUncased)
	if tok.VocabSize() != 30522 {
		t.Errorf("VocabSize = %d, want 30522", tok.VocabSize())
	}
	cases := []struct {
		text string
		want []int32
	}{
		{"hello world", []int32{101, 7592, 2088, 102}},
		{"Hello, my dog is cute", []int32{101, 7592, 1010, 2026, 3899, 2003, 10140, 102}},
		// bert-base-uncased has no "##aff": greedy longest match gives
		// una (14477) ##ffa (20961) ##ble (3468). (The "un ##aff ##able"
		// of the BERT paper's README is another vocabulary.)
		{"unaffable", []int32{101, 14477, 20961, 3468, 102}},
		// Accents stripped, lower-cased: "Café" → "cafe" (7668).
		{"Café", []int32{101, 7668, 102}},
		// Punctuation split off; [MASK] in text is ordinary text.
		{"[MASK]", []int32{101, 1031, 7308, 1033, 102}},
		{strings.Repeat("a", 101), []int32{101, BERTUnk, 102}},
		{"", []int32{101, 102}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, tok.Encode(c.text)); diff != "" {
			t.Errorf("Encode(%q) (-want +got):\n%s", c.text, diff)
		}
	}
}

func TestBERTBasicTokens(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"  Hello,\tWORLD!\n", []string{"hello", ",", "world", "!"}},
		{"naïve Ærø", []string{"naive", "ærø"}}, // Æ/ø have no decomposition
		{"東京タワー", []string{"東", "京", "タワー"}},
		{"don't\x00stop\u200b", []string{"don", "'", "tstop"}}, // NUL and ZWSP (Cf) dropped
		{"a\u00a0b", []string{"a", "b"}},                       // NBSP is Zs
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, basicTokens(c.text)); diff != "" {
			t.Errorf("basicTokens(%q) (-want +got):\n%s", c.text, diff)
		}
	}
}

func TestBERTDecode(t *testing.T) {
	tok := mustTokenizer(t, BERTUncased)
	if got := tok.Decode(tok.Encode("Hello, unaffable world")); got != "hello , unaffable world" {
		t.Errorf("Decode = %q", got)
	}
}

// bert-2k is bert-uncased's WordPiece cut to 2,048 entries: the special
// ids stay, every entry is a bert-uncased entry, and ASCII text never
// needs [UNK].
func TestBERT2k(t *testing.T) {
	cut, full := mustTokenizer(t, BERTTiny), mustTokenizer(t, BERTUncased)
	if cut.VocabSize() != 2048 {
		t.Fatalf("VocabSize = %d, want 2048", cut.VocabSize())
	}
	w := cut.(*wordPiece)
	for id, tok := range map[int32]string{BERTPad: "[PAD]", BERTUnk: "[UNK]", BERTCLS: "[CLS]", BERTSEP: "[SEP]", BERTMask: "[MASK]"} {
		if w.tokens[id] != tok {
			t.Errorf("id %d is %q, want %q", id, w.tokens[id], tok)
		}
	}
	fw := full.(*wordPiece)
	for id, tok := range w.tokens {
		if _, ok := fw.ids[tok]; !ok {
			t.Errorf("id %d %q is not a bert-uncased entry", id, tok)
		}
	}
	// Frequent words keep one id; rare ones split into kept pieces.
	if ids := cut.Encode("the"); len(ids) != 3 || w.tokens[ids[1]] != "the" {
		t.Errorf(`Encode("the") = %v`, ids)
	}
	ids := cut.Encode("Pneumonoultramicroscopicsilicovolcanoconiosis, 1984! ~x{y}")
	for _, id := range ids {
		if id == BERTUnk {
			t.Errorf("ASCII text gave [UNK]: %v", ids)
		}
	}
	if got, want := cut.Decode(ids), full.Decode(full.Encode("Pneumonoultramicroscopicsilicovolcanoconiosis, 1984! ~x{y}")); got != want {
		t.Errorf("Decode = %q, bert-uncased gives %q", got, want)
	}
	if n := len(full.Encode("Pneumonoultramicroscopicsilicovolcanoconiosis")); len(cut.Encode("Pneumonoultramicroscopicsilicovolcanoconiosis")) <= n {
		t.Errorf("bert-2k should need more pieces than bert-uncased's %d", n)
	}
	// A character outside the cut vocabulary makes its word [UNK].
	if diff := cmp.Diff([]int32{BERTCLS, BERTUnk, BERTSEP}, cut.Encode("€")); diff != "" {
		t.Errorf(`Encode("€") (-want +got):\n%s`, diff)
	}
}

func TestPixels(t *testing.T) {
	tok := mustTokenizer(t, Pixels)
	in := string([]byte{0, 7, 255})
	ids := tok.Encode(in)
	if diff := cmp.Diff([]int32{0, 7, 255}, ids); diff != "" {
		t.Error(diff)
	}
	if tok.Decode(ids) != in || tok.VocabSize() != 256 {
		t.Error("pixels round trip or vocab size wrong")
	}
}

func BenchmarkEncode(b *testing.B) {
	text := strings.Repeat(sampleText, 20)
	for _, name := range []string{GPT2, GPT2Small, BERTUncased} {
		tok := mustTokenizer(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Encode(text)
			}
		})
	}
}
