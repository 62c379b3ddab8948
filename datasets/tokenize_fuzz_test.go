package datasets

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTokenizers feeds arbitrary bytes, invalid UTF-8 included, to the
// text tokenizers (go test -fuzz FuzzTokenizers ./datasets, or make
// fuzz) and checks the properties each one truly has:
//   - every tokenizer: no panic, every id in [0, VocabSize), and the same
//     text encodes to the same ids twice;
//   - byte-level BPE (gpt2, gpt2-2k) is lossless on UTF-8: Decode(Encode(s))
//     is s with each run of invalid bytes replaced by one U+FFFD (Encode's
//     documented cleaning), so exactly s when s is valid UTF-8; and it
//     never makes more ids than the cleaned text has bytes;
//   - WordPiece (bert-uncased, bert-2k) lower-cases, strips accents and drops
//     spacing, so it is not lossless; it is a projection instead: the ids
//     are wrapped in [CLS] … [SEP], and when no word became [UNK] the
//     decoded text encodes to the same ids again.
func FuzzTokenizers(f *testing.F) {
	for _, s := range []string{
		"", "Hello, world!", "  leading and trailing  \n\n", "<|endoftext|>[MASK][CLS]",
		"naïve café — “quotes” 日本語 🙂", "unaffable ##s x##y", "\xff\xfe invalid \xc3\x28 bytes \xed\xa0\x80",
		"line one\r\nline two\ttab\x00nul\u200bzero-width", strings.Repeat("a", 250), "1234567890 3.14 1e9",
	} {
		f.Add([]byte(s))
	}
	var bpes []Tokenizer
	for _, name := range []string{GPT2, GPT2Tiny} {
		tok, err := NewTokenizer(name)
		if err != nil {
			f.Fatal(err)
		}
		bpes = append(bpes, tok)
	}
	var wps []Tokenizer
	for _, name := range []string{BERTUncased, BERTTiny} {
		tok, err := NewTokenizer(name)
		if err != nil {
			f.Fatal(err)
		}
		wps = append(wps, tok)
	}
	inRange := func(t *testing.T, tok Tokenizer, ids []int32) {
		for i, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("%s: id %d at %d outside [0, %d)", tok.Name(), id, i, tok.VocabSize())
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		text := string(b)
		clean := strings.ToValidUTF8(text, "\uFFFD")
		for _, tok := range bpes {
			ids := tok.Encode(text)
			inRange(t, tok, ids)
			if again := tok.Encode(text); !slices.Equal(ids, again) {
				t.Fatalf("%s: %q encodes to %v, then to %v", tok.Name(), text, ids, again)
			}
			if len(ids) > len(clean) {
				t.Fatalf("%s: %d ids for %d bytes", tok.Name(), len(ids), len(clean))
			}
			if got := tok.Decode(ids); got != clean {
				t.Fatalf("%s: Decode(Encode(%q)) = %q, want %q", tok.Name(), text, got, clean)
			}
		}
		for _, wp := range wps {
			wordPieceProjection(t, wp, text, inRange)
		}
	})
}

// wordPieceProjection checks a WordPiece tokenizer on text: [CLS] … [SEP],
// deterministic, and, when no word became [UNK], decoding and encoding
// again gives the same ids.
func wordPieceProjection(t *testing.T, wp Tokenizer, text string, inRange func(*testing.T, Tokenizer, []int32)) {
	ids := wp.Encode(text)
	inRange(t, wp, ids)
	if len(ids) < 2 || ids[0] != BERTCLS || ids[len(ids)-1] != BERTSEP {
		t.Fatalf("%s: %q encodes to %v, not [CLS] … [SEP]", wp.Name(), text, ids)
	}
	if again := wp.Encode(text); !slices.Equal(ids, again) {
		t.Fatalf("%s: %q encodes to %v, then to %v", wp.Name(), text, ids, again)
	}
	if slices.Contains(ids, BERTUnk) {
		return
	}
	dec := wp.Decode(ids)
	if !utf8.ValidString(dec) {
		t.Fatalf("%s: Decode gave invalid UTF-8 %q", wp.Name(), dec)
	}
	if again := wp.Encode(dec); !slices.Equal(ids, again) {
		t.Fatalf("%s: %q encodes to %v, decodes to %q, which encodes to %v", wp.Name(), text, ids, dec, again)
	}
}
