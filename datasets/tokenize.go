package datasets

import (
	"fmt"
	"strings"
)

// Tokenizer turns text into token ids and back. Implementations are safe
// for concurrent use once built.
type Tokenizer interface {
	// Name is the tokenizer's registered name ("gpt2", "gpt2-8k",
	// "bert-uncased", "pixels").
	Name() string
	// VocabSize is one more than the largest id Encode can return.
	VocabSize() int
	// Encode tokenises text. The BPE tokenizers treat special-token
	// strings such as "<|endoftext|>" as ordinary text; bert-uncased wraps
	// the ids in [CLS] … [SEP].
	Encode(text string) []int32
	// Decode turns ids back into text. For the BPE tokenizers
	// Decode(Encode(s)) == s exactly; for bert-uncased the text is the
	// lower-cased, accent-stripped word pieces joined by spaces.
	Decode(ids []int32) string
}

// Tokenizer names.
const (
	GPT2        = "gpt2"          // r50k byte-level BPE, exact GPT-2 ids, 50,257
	GPT2Small   = "gpt2-8k"       // the same BPE cut to its first 8,192 ranks
	GPT2Tiny    = "gpt2-2k"       // the same BPE cut to its first 2,048 ranks (the mini decoders')
	BERTUncased = "bert-uncased"  // WordPiece, bert-base-uncased vocabulary, 30,522
	BERTTiny    = "bert-2k"       // the same WordPiece cut to 2,048 entries (bert-mini's)
	Pixels      = TokenizerPixels // image bytes 0..255 as ids (MNIST)
)

// TokenizerNames lists the names NewTokenizer accepts, in a fixed order.
func TokenizerNames() []string {
	return []string{GPT2Tiny, GPT2Small, BERTTiny, BERTUncased, GPT2, Pixels}
}

// NewTokenizer returns the tokenizer registered under name. Each call builds
// a fresh tokenizer from tables compiled into the binary (no file reads).
func NewTokenizer(name string) (Tokenizer, error) {
	switch name {
	case GPT2:
		return newBPE(GPT2, gpt2Vocab)
	case GPT2Small:
		return newBPE(GPT2Small, 8192)
	case GPT2Tiny:
		return newBPE(GPT2Tiny, 2048)
	case BERTUncased:
		return newWordPiece()
	case BERTTiny:
		return newWordPieceCut(BERTTiny, 2048)
	case Pixels:
		return pixelTokenizer{}, nil
	}
	return nil, fmt.Errorf("datasets: unknown tokenizer %q (valid: %s)", name, strings.Join(TokenizerNames(), ", "))
}

// pixelTokenizer maps each byte of the text to its value: an image's
// pixels are stored as ids 0..255. It exists so that image files carry a
// tokenizer name and vocabulary size like text files do.
type pixelTokenizer struct{}

func (pixelTokenizer) Name() string   { return Pixels }
func (pixelTokenizer) VocabSize() int { return 256 }

func (pixelTokenizer) Encode(text string) []int32 {
	ids := make([]int32, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int32(text[i])
	}
	return ids
}

func (pixelTokenizer) Decode(ids []int32) string {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return string(b)
}
