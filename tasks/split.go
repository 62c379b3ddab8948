package tasks

import (
	"container/list"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/sleepbench/sleepbench/datasets"
)

// CacheTokens bounds the input ids of decoded record batches kept per
// split. A split that fits is shuffled as a whole each epoch; a larger
// one is shuffled in groups of record batches of at most half this size.
const CacheTokens = 1 << 23

// split is one file of a task, indexed into examples: windows of win
// tokens over the packed rows, or rows when win is 0.
type split struct {
	r    *datasets.Reader
	path string

	win    int   // tokens per window; 0 = one example per row
	sep    int32 // separator id between packed rows, when hasSep
	hasSep bool

	rowStart []int   // rows before record i (len records+1)
	tokStart []int64 // packed tokens before record i (len records+1)
	total    int64   // packed tokens
	n        int     // examples
	rowLen   int     // length of every row (images); -1 if rows differ

	mu    sync.Mutex
	cache map[int]*list.Element
	lru   list.List // of *entry, most recent first
	held  int64     // tokens in cache
	limit int64
}

// entry is a decoded record batch: its rows for row examples, or its
// rows' ids packed end to end for windows (the rows themselves, text
// included, are then dropped).
type entry struct {
	i      int
	rows   int
	rec    *datasets.Records // nil for windows
	packed []int32
}

// index reads every record batch once (so that damaged data fails at
// Open, not mid-run) to count rows and packed tokens.
func (s *split) index() error {
	R := s.r.NumRecords()
	s.cache = map[int]*list.Element{}
	s.limit = CacheTokens
	s.rowStart = make([]int, R+1)
	s.tokStart = make([]int64, R+1)
	s.rowLen = 0
	for i := 0; i < R; i++ {
		e, err := s.load(i)
		if err != nil {
			return err
		}
		s.rowStart[i+1] = s.rowStart[i] + e.rows
		s.tokStart[i+1] = s.tokStart[i] + int64(len(e.packed))
		for j := 0; e.rec != nil && j < e.rows; j++ {
			l := len(e.rec.InputIDs(j))
			if s.rowLen == 0 {
				s.rowLen = l
			} else if l != s.rowLen {
				s.rowLen = -1
			}
		}
	}
	s.total = s.tokStart[R]
	if s.win == 0 {
		s.n = s.rowStart[R]
	} else {
		s.n = int(s.total / int64(s.win))
	}
	return nil
}

// load returns record batch i, decoding it unless cached.
func (s *split) load(i int) (*entry, error) {
	s.mu.Lock()
	if el, ok := s.cache[i]; ok {
		s.lru.MoveToFront(el)
		s.mu.Unlock()
		return el.Value.(*entry), nil
	}
	s.mu.Unlock()
	rec, err := s.r.Record(i)
	if err != nil {
		return nil, err
	}
	e := &entry{i: i, rows: rec.Len(), rec: rec, packed: rec.AllIDs()}
	if s.win > 0 {
		e.rec = nil
	}
	if s.hasSep && s.win > 0 {
		// A separator goes before every row but the file's first.
		p := make([]int32, 0, len(e.packed)+rec.Len())
		for j := 0; j < rec.Len(); j++ {
			if i > 0 || j > 0 {
				p = append(p, s.sep)
			}
			p = append(p, rec.InputIDs(j)...)
		}
		e.packed = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.cache[i]; ok { // loaded meanwhile by another goroutine
		return el.Value.(*entry), nil
	}
	s.cache[i] = s.lru.PushFront(e)
	s.held += int64(len(e.packed))
	for s.held > s.limit && s.lru.Len() > 1 {
		old := s.lru.Back().Value.(*entry)
		s.lru.Remove(s.lru.Back())
		delete(s.cache, old.i)
		s.held -= int64(len(old.packed))
	}
	return e, nil
}

// setLimit sets the cache bound (in tokens), evicting to meet it.
func (s *split) setLimit(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = n
	for s.held > s.limit && s.lru.Len() > 0 {
		old := s.lru.Back().Value.(*entry)
		s.lru.Remove(s.lru.Back())
		delete(s.cache, old.i)
		s.held -= int64(len(old.packed))
	}
}

// window copies the tokens of window k into dst (len win).
func (s *split) window(k int, dst []int32) error {
	p := int64(k) * int64(s.win)
	r := sort.Search(len(s.tokStart)-1, func(i int) bool { return s.tokStart[i+1] > p })
	for got := 0; got < len(dst); r++ {
		if r >= len(s.tokStart)-1 {
			return fmt.Errorf("%s: window %d runs past the end", s.path, k)
		}
		e, err := s.load(r)
		if err != nil {
			return err
		}
		off := p + int64(got) - s.tokStart[r]
		got += copy(dst[got:], e.packed[off:])
	}
	return nil
}

// row returns example k's record batch and row.
func (s *split) row(k int) (*datasets.Records, int, error) {
	r := sort.Search(len(s.rowStart)-1, func(i int) bool { return s.rowStart[i+1] > k })
	e, err := s.load(r)
	if err != nil {
		return nil, 0, err
	}
	return e.rec, k - s.rowStart[r], nil
}

// first is the first example starting in record batch r.
func (s *split) first(r int) int {
	if s.win == 0 {
		return s.rowStart[r]
	}
	w := int64(s.win)
	return int(min((s.tokStart[r]+w-1)/w, int64(s.n)))
}

// epoch returns every example once, in an order shuffled by rng: a full
// shuffle when the split fits the cache, otherwise record batches in
// shuffled order, grouped up to half the cache, examples shuffled within
// each group (so a group's batches are decoded once per epoch).
func (s *split) epoch(rng *rand.Rand) []int {
	order := make([]int, s.n)
	if s.total <= s.limit {
		for i := range order {
			order[i] = i
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		return order
	}
	recs := rng.Perm(len(s.tokStart) - 1)
	pos := 0
	for g := 0; g < len(recs); {
		start := pos
		var toks int64
		for ; g < len(recs) && (toks == 0 || toks+s.tokStart[recs[g]+1]-s.tokStart[recs[g]] <= s.limit/2); g++ {
			r := recs[g]
			toks += s.tokStart[r+1] - s.tokStart[r]
			for k := s.first(r); k < s.first(r+1); k++ {
				order[pos] = k
				pos++
			}
		}
		grp := order[start:pos]
		rng.Shuffle(len(grp), func(i, j int) { grp[i], grp[j] = grp[j], grp[i] })
	}
	return order
}
