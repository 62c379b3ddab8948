package datasets

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
)

// Documents go to train, validation or test by a hash of their id alone:
// about 80 / 10 / 10, the same on every machine and every build, and a
// document is in exactly one split (and in the same split in every domain
// that uses it: a speech is in the same split for speech and party).

// Splits lists the split names in file order.
var Splits = []string{Train, Validation, Test}

// hash64 is the first 8 bytes of SHA-256 of s, big-endian. (FNV-1a was
// tried first and is unfit: its low bits depend only on the low bits of
// the input bytes, so ids ending "_d" and "_r" fell into correlated
// splits.)
func hash64(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(sum[:8])
}

// SplitOf returns the split of the document with the given id: hash64 of
// the id, modulo 100, below 80 is train, below 90 validation, else test.
func SplitOf(docID string) string {
	switch h := hash64(docID) % 100; {
	case h < 80:
		return Train
	case h < 90:
		return Validation
	}
	return Test
}

// Caps limits the text kept per split, in bytes of unit text; 0 keeps
// everything.
type Caps struct {
	Train, Validation, Test int
}

// of returns the cap of a split.
func (c Caps) of(split string) int {
	switch split {
	case Train:
		return c.Train
	case Validation:
		return c.Validation
	}
	return c.Test
}

// assignSplits returns each document's split: SplitOf its id, except
// that in a corpus of few documents a split left without any takes the
// train document of highest hash (so that every split of a small import
// has rows; the corpora of Build never need this).
func assignSplits(c *Corpus) []string {
	out := make([]string, len(c.Docs))
	count := map[string]int{}
	for d, doc := range c.Docs {
		out[d] = SplitOf(doc.ID)
		count[out[d]]++
	}
	for _, s := range []string{Validation, Test} {
		if count[s] > 0 || count[Train] < 2 {
			continue
		}
		best := -1
		for d, doc := range c.Docs {
			if out[d] == Train && (best < 0 || hash64(doc.ID) > hash64(c.Docs[best].ID)) {
				best = d
			}
		}
		out[best] = s
		count[Train]--
		count[s]++
	}
	return out
}

// ref locates a unit: document and position.
type ref struct{ doc, unit int }

// splitUnits assigns the corpus's documents to splits and applies the
// caps. Within a split, units are ranked by hash64 of
// "domain/docID#position" and kept, best rank first, until the kept text
// reaches the cap (the unit that crosses it is kept); the kept units are
// returned in source order (documents in corpus order, units in document order). Ranking
// units rather than whole documents spreads a capped split over many
// documents, so that a small test split is not one or two speeches;
// the domain in the key makes domains that share a source (scripture and
// book, email and spam) keep different samples of it.
func splitUnits(c *Corpus, caps Caps) map[string][]ref {
	docSplits := assignSplits(c)
	all := map[string][]ref{}
	for d, doc := range c.Docs {
		s := docSplits[d]
		for u := range doc.Units {
			all[s] = append(all[s], ref{d, u})
		}
	}
	out := map[string][]ref{}
	for _, s := range Splits {
		refs := all[s]
		limit := caps.of(s)
		if limit <= 0 {
			out[s] = refs
			continue
		}
		type ranked struct {
			key uint64
			ref
		}
		order := make([]ranked, len(refs))
		for i, r := range refs {
			order[i] = ranked{hash64(c.Domain + "/" + c.Docs[r.doc].ID + "#" + strconv.Itoa(r.unit)), r}
		}
		slices.SortFunc(order, func(a, b ranked) int {
			switch {
			case a.key != b.key:
				return cmp.Compare(a.key, b.key)
			case a.doc != b.doc:
				return a.doc - b.doc
			}
			return a.unit - b.unit
		})
		total := 0
		keep := map[ref]bool{}
		for _, o := range order {
			if total >= limit {
				break
			}
			r := o.ref
			keep[r] = true
			total += len(c.Docs[r.doc].Units[r.unit].Text)
		}
		for _, r := range refs {
			if keep[r] {
				out[s] = append(out[s], r)
			}
		}
	}
	return out
}
