package datasets

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The split of a document must never change: the committed files depend
// on it. Expected values from Python: int(sha256(id).hexdigest()[:16], 16) % 100.
func TestSplitOfStable(t *testing.T) {
	for id, want := range map[string]string{
		"a":          Train,      // 50
		"f":          Validation, // 82
		"brown/ca01": Test,       // 97
	} {
		if got := SplitOf(id); got != want {
			t.Errorf("SplitOf(%q) = %s, want %s", id, got, want)
		}
	}
	if got := hash64("a"); got != 14598278634844962250 {
		t.Errorf("hash64(a) = %d", got)
	}
}

func TestSplitProportions(t *testing.T) {
	n := map[string]int{}
	const total = 20000
	for i := range total {
		// Ids that differ only in their last characters, as real ids do.
		n[SplitOf(fmt.Sprintf("sotu/%d_name_%c", 1790+i, "dr"[i%2]))]++
	}
	for s, want := range map[string]int{Train: 16000, Validation: 2000, Test: 2000} {
		// ±2% of all ids: about 5 standard deviations of a fair split.
		if lo, hi := want-400, want+400; n[s] < lo || n[s] > hi {
			t.Errorf("%s: %d of %d ids, want in [%d, %d]", s, n[s], total, want-400, want+400)
		}
	}
}

// testCorpus has docs of varied size; unit text names its document.
func testCorpus(docs int) *Corpus {
	c := &Corpus{Domain: "t", Labels: []string{"x", "y"}}
	for d := range docs {
		doc := Doc{ID: fmt.Sprintf("doc-%03d", d)}
		for u := range 1 + d%7 {
			doc.Units = append(doc.Units, Unit{Text: fmt.Sprintf("%s unit %d %s", doc.ID, u, strings.Repeat("z", (d*u)%50)), Label: "xy"[d%2 : d%2+1]})
		}
		c.Docs = append(c.Docs, doc)
	}
	return c
}

func TestSplitUnitsDisjointAndCapped(t *testing.T) {
	c := testCorpus(400)
	caps := Caps{Train: 20000, Validation: 2000, Test: 2000}
	sel := splitUnits(c, caps)
	seen := map[int]string{}
	for _, s := range Splits {
		refs := sel[s]
		if len(refs) == 0 {
			t.Fatalf("split %s empty", s)
		}
		bytes := 0
		for i, r := range refs {
			if SplitOf(c.Docs[r.doc].ID) != s {
				t.Errorf("%s holds a unit of %s, whose split is %s", s, c.Docs[r.doc].ID, SplitOf(c.Docs[r.doc].ID))
			}
			if prev, ok := seen[r.doc]; ok && prev != s {
				t.Errorf("document %s in %s and %s", c.Docs[r.doc].ID, prev, s)
			}
			seen[r.doc] = s
			if i > 0 && (r.doc < refs[i-1].doc || r.doc == refs[i-1].doc && r.unit <= refs[i-1].unit) {
				t.Errorf("%s: units out of source order at %d", s, i)
			}
			bytes += len(c.Docs[r.doc].Units[r.unit].Text)
		}
		limit := caps.of(s)
		if bytes < limit || bytes > limit+100 { // the crossing unit is < 100 bytes
			t.Errorf("%s: %d bytes kept, cap %d", s, bytes, limit)
		}
	}
	// Several documents contribute to a capped split.
	if len(seen) < 50 {
		t.Errorf("only %d documents kept", len(seen))
	}
	if again := splitUnits(c, caps); !reflect.DeepEqual(sel, again) {
		t.Error("splitUnits is not deterministic")
	}
	// No caps: every unit, each in its document's split.
	all := splitUnits(c, Caps{})
	n := 0
	for _, s := range Splits {
		n += len(all[s])
	}
	if n != countUnits(c) {
		t.Errorf("uncapped: %d units of %d", n, countUnits(c))
	}
}

func TestSplitsOfFewDocuments(t *testing.T) {
	// Three documents that all hash to train still fill every split.
	c := &Corpus{Domain: "few"}
	for _, id := range []string{"a", "b", "c"} { // all train (see TestSplitOfStable)
		if SplitOf(id) != Train {
			t.Fatalf("%s is not a train id", id)
		}
		c.Docs = append(c.Docs, Doc{ID: id, Units: []Unit{{Text: "text of " + id}}})
	}
	sel := splitUnits(c, Caps{})
	for _, s := range Splits {
		if len(sel[s]) != 1 {
			t.Errorf("split %s has %d units, want 1", s, len(sel[s]))
		}
	}
	// One document: nothing to move.
	c.Docs = c.Docs[:1]
	if sel := splitUnits(c, Caps{}); len(sel[Train]) != 1 || len(sel[Test]) != 0 {
		t.Errorf("one document: %v", sel)
	}
}
