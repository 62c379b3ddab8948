package datasets

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dlclark/regexp2/v2"
	tiktoken "github.com/tiktoken-go/tokenizer"
)

// GPT-2 byte-level BPE.
//
// The rank table is GPT-2's r50k_base: token id = rank, ids 0..255 are the
// 256 single bytes (in GPT-2's byte order), 256..50255 the merges in the
// order they were learnt, and 50256 is <|endoftext|>. The table is read
// once from github.com/tiktoken-go/tokenizer (compiled into that module, no
// file or network access) by decoding every id.
//
// Encoding follows tiktoken: split the text with GPT-2's pre-tokenisation
// regex, then, inside each piece, repeatedly merge the adjacent pair whose
// concatenation has the lowest rank (leftmost first on a tie) until no
// adjacent pair is a token. A tokenizer with limit L only knows the ranks
// below L: merges of rank ≥ L are never applied. Because every byte has a
// rank below 256, every text still encodes, and because ranks are the
// merge order, the truncated tokenizer is exactly the BPE that stopped
// learning after L−256 merges.

const (
	// gpt2Vocab is GPT-2's vocabulary size: 50,256 ranks plus <|endoftext|>.
	gpt2Vocab = 50257
	// EndOfText is GPT-2's <|endoftext|> id. Encode never emits it (the
	// string "<|endoftext|>" in text is encoded as ordinary text, like
	// tiktoken's encode_ordinary); a caller that wants a document separator
	// appends it. The gpt2-8k tokenizer has no such token.
	EndOfText = 50256
	// gpt2Pattern is GPT-2's pre-tokenisation regex, exactly as in
	// tiktoken's r50k_base (the (?!\S) lookahead needs regexp2).
	gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

var (
	r50kOnce   sync.Once
	r50kTokens []string // rank → token bytes; read-only once loaded
	r50kErr    error
)

// r50kTable returns the token bytes of ranks 0..50255.
func r50kTable() ([]string, error) {
	r50kOnce.Do(func() {
		codec, err := tiktoken.Get(tiktoken.R50kBase)
		if err != nil {
			r50kErr = fmt.Errorf("datasets: loading r50k_base: %w", err)
			return
		}
		toks := make([]string, EndOfText)
		for id := range toks {
			s, err := codec.Decode([]uint{uint(id)})
			if err != nil {
				r50kErr = fmt.Errorf("datasets: r50k_base has no token %d: %w", id, err)
				return
			}
			toks[id] = s
		}
		r50kTokens = toks
	})
	return r50kTokens, r50kErr
}

// bpe is a byte-level BPE over the first limit ranks of r50k_base.
type bpe struct {
	name   string
	vocab  int
	limit  int32
	ranks  map[string]int32
	tokens []string
	split  *regexp2.Regexp
}

// newBPE builds a BPE tokenizer that knows ranks below min(vocab, 50256).
func newBPE(name string, vocab int) (*bpe, error) {
	table, err := r50kTable()
	if err != nil {
		return nil, err
	}
	limit := min(vocab, len(table))
	ranks := make(map[string]int32, limit)
	for id, s := range table[:limit] {
		ranks[s] = int32(id)
	}
	for b := 0; b < 256; b++ {
		if _, ok := ranks[string([]byte{byte(b)})]; !ok {
			return nil, fmt.Errorf("datasets: %s: byte %#x has no rank below %d", name, b, limit)
		}
	}
	re, err := regexp2.Compile(gpt2Pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: compiling the pre-tokenisation regex: %w", name, err)
	}
	return &bpe{name: name, vocab: vocab, limit: int32(limit), ranks: ranks, tokens: table[:limit], split: re}, nil
}

func (t *bpe) Name() string   { return t.name }
func (t *bpe) VocabSize() int { return t.vocab }

// Encode tokenises text. Invalid UTF-8 is first replaced by U+FFFD (the
// regex works on runes, so the bytes could not be kept anyway).
func (t *bpe) Encode(text string) []int32 {
	text = strings.ToValidUTF8(text, "\uFFFD")
	ids := make([]int32, 0, len(text)/3+1)
	for _, p := range t.pieces(text) {
		ids = t.encodePiece(p, ids)
	}
	return ids
}

// pieces splits text with the pre-tokenisation regex. Every rune is
// covered by one of its alternatives, so the pieces concatenate to text.
func (t *bpe) pieces(text string) []string {
	var out []string
	m, err := t.split.FindStringMatch(text)
	for err == nil && m != nil {
		out = append(out, m.String())
		m, err = t.split.FindNextMatch(m)
	}
	if err != nil {
		// regexp2 fails only on a match timeout, which is not set here.
		panic(fmt.Sprintf("datasets: %s: pre-tokenisation: %v", t.name, err))
	}
	return out
}

// Decode concatenates the ids' bytes. EndOfText decodes to
// "<|endoftext|>"; an id outside the vocabulary decodes to U+FFFD.
func (t *bpe) Decode(ids []int32) string {
	var sb strings.Builder
	for _, id := range ids {
		switch {
		case id >= 0 && id < t.limit:
			sb.WriteString(t.tokens[id])
		case id == EndOfText && t.vocab > EndOfText:
			sb.WriteString("<|endoftext|>")
		default:
			sb.WriteString("\uFFFD")
		}
	}
	return sb.String()
}

// noRank marks a boundary whose part cannot merge with the next.
const noRank = int32(1<<31 - 1)

// encodePiece appends the BPE ids of one pre-token to ids. Parts are kept
// in a linked list over byte offsets, candidate merges in a min-heap by
// (rank, offset), stale heap entries skipped: O(n log n) per piece, so a
// long run of junk bytes costs no more than its length warrants.
func (t *bpe) encodePiece(p string, ids []int32) []int32 {
	if id, ok := t.ranks[p]; ok {
		return append(ids, id)
	}
	n := int32(len(p))
	next := make([]int32, n+1) // next[i]: start of the part after the one at i (n = end)
	prev := make([]int32, n+1)
	rank := make([]int32, n+1) // rank of merging the part at i with its successor
	for i := int32(0); i <= n; i++ {
		next[i], prev[i], rank[i] = i+1, i-1, noRank
	}
	pairRank := func(i int32) int32 {
		j := next[i]
		if j >= n {
			return noRank
		}
		if r, ok := t.ranks[p[i:next[j]]]; ok {
			return r
		}
		return noRank
	}
	var h mergeHeap
	for i := int32(0); i < n-1; i++ {
		if r := pairRank(i); r != noRank {
			rank[i] = r
			h = append(h, merge{r, i})
		}
	}
	h.init()
	for len(h) > 0 {
		top := h.pop()
		i := top.at
		if rank[i] != top.rank {
			continue // stale: the part changed or was absorbed
		}
		j := next[i]
		rank[j] = noRank // j is absorbed into i
		next[i] = next[j]
		if next[i] <= n {
			prev[next[i]] = i
		}
		for _, b := range [2]int32{i, prev[i]} {
			if b < 0 {
				continue
			}
			rank[b] = pairRank(b)
			if rank[b] != noRank {
				h.push(merge{rank[b], b})
			}
		}
	}
	for i := int32(0); i < n; i = next[i] {
		ids = append(ids, t.ranks[p[i:next[i]]])
	}
	return ids
}

// merge is a candidate merge of the part starting at byte at.
type merge struct {
	rank, at int32
}

// mergeHeap is a binary min-heap of merges by rank, then offset, so that
// among equal ranks the leftmost pair merges first.
type mergeHeap []merge

func (h mergeHeap) less(a, b int) bool {
	if h[a].rank != h[b].rank {
		return h[a].rank < h[b].rank
	}
	return h[a].at < h[b].at
}

func (h mergeHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *mergeHeap) push(m merge) {
	*h = append(*h, m)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() merge {
	s := *h
	top := s[0]
	s[0] = s[len(s)-1]
	*h = s[:len(s)-1]
	h.down(0)
	return top
}

func (h mergeHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
