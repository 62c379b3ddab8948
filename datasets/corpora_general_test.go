package datasets

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormSentenceAndWords(t *testing.T) {
	for in, want := range map[string]string{
		"  The  Cat\tsat.\n": "the cat sat.",
		"ÉCOLE":              "école",
		"":                   "",
	} {
		if got := normSentence(in); got != want {
			t.Errorf("normSentence(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := words("It's 9 o'clock -- the U.S. \"way\"!"), []string{"it", "s", "9", "o", "clock", "the", "u", "s", "way"}; !slices.Equal(got, want) {
		t.Errorf("words = %q, want %q", got, want)
	}
}

// sentencesOf makes a one-document corpus of the given domain from units.
func sentencesOf(domain string, units ...string) *Corpus {
	c := &Corpus{Domain: domain, Docs: []Doc{{ID: "d"}}}
	for _, u := range units {
		c.Docs[0].Units = append(c.Docs[0].Units, Unit{Text: u})
	}
	return c
}

// What is dropped and why, one sentence per rule, counted by hand.
func TestGeneralCorpusDedup(t *testing.T) {
	other := newSentenceSet()
	other.addCorpus(sentencesOf(DomainSpeech,
		"We must cut the deficit. Our union is strong, and our people are free to choose their future!",
		"Mr. Speaker, the budget before you is balanced."))
	other.addCorpus(sentencesOf(DomainComputing, "unix: an operating system."))
	other.addCorpus(sentencesOf(DomainParty, "We must cut the deficit."))
	files := [][]string{{
		"A plain sentence of general English.",                                   // kept
		"we MUST   cut the deficit.",                                             // exact (speech, party)
		"UNIX: an operating system.",                                             // exact: a whole unit (computing)
		"Our union is strong -- and our people are free to choose their future.", // near: 8 words shared, other punctuation (speech)
		"We must cut the deficit. Then she left the room in a hurry.",            // exact: one of its sentences (speech, party)
		"The budget before you is balanced.",                                     // near: "speaker the budget ..." is not 8 words; "the budget before you is balanced" is 6 words: kept
		"A plain sentence of general English.",                                   // repeat
		"He met Mr. Speaker. Ok.",                                                // pieces under minPieceWords are not matched alone: kept
		"",                                                                       // empty
	}, {
		"One more sentence here.", // kept, second file
	}}
	c, r := generalCorpus(files, other)
	want := &GeneralReport{Files: 2, Sentences: 10, Empty: 1,
		Exact: 3, Near: 1, Repeats: 1, Kept: 4, Docs: 2,
		ByDomain: map[string]int{DomainSpeech: 3, DomainComputing: 1, DomainParty: 2}}
	for _, f := range files {
		for _, s := range f {
			want.Bytes += len(s)
		}
	}
	want.ExactBytes = len(files[0][1]) + len(files[0][2]) + len(files[0][4])
	// Under 5 words: only "UNIX: an operating system." (4).
	want.ExactShort, want.ExactShortBytes = 1, len(files[0][2])
	want.NearBytes = len(files[0][3])
	want.RepeatBytes = len(files[0][6])
	want.KeptBytes = len(files[0][0]) + len(files[0][5]) + len(files[0][7]) + len(files[1][0])
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	wantDocs := []Doc{
		{ID: "nlp-corpus/doc-0#0", Units: []Unit{{Text: files[0][0] + " " + files[0][5] + " " + files[0][7]}}},
		{ID: "nlp-corpus/doc-1#0", Units: []Unit{{Text: files[1][0]}}},
	}
	if diff := cmp.Diff(wantDocs, c.Docs); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
	if c.Domain != DomainGeneral || c.Source != "nlp-corpus@4.4.0" || c.Labels != nil {
		t.Errorf("corpus %s from %s, labels %v", c.Domain, c.Source, c.Labels)
	}
	var log bytes.Buffer
	r.Write(&log)
	for _, s := range []string{"dropped 3 sentences", "dropped 1 more sentences", "speech 3, computing 1, party 2", "kept 4 sentences"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, log.String())
		}
	}
}

// Documents are runs of generalDocSentences kept sentences of one file;
// rows hold at most maxUnitBytes.
func TestGeneralCorpusDocuments(t *testing.T) {
	var file []string
	for i := 0; i < 2*generalDocSentences+3; i++ {
		file = append(file, fmt.Sprintf("Sentence number %d is here%s.", i, strings.Repeat(" and again", 12)))
	}
	c, r := generalCorpus([][]string{file}, newSentenceSet())
	if len(c.Docs) != 3 || r.Docs != 3 || r.Kept != len(file) {
		t.Fatalf("%d documents, report %+v", len(c.Docs), r)
	}
	for k, d := range c.Docs {
		if d.ID != fmt.Sprintf("nlp-corpus/doc-0#%d", k) {
			t.Errorf("document %d id %q", k, d.ID)
		}
		var joined []string
		for _, u := range d.Units {
			if len(u.Text) > maxUnitBytes {
				t.Errorf("%s: a row of %d bytes", d.ID, len(u.Text))
			}
			joined = append(joined, u.Text)
		}
		want := strings.Join(file[k*generalDocSentences:min((k+1)*generalDocSentences, len(file))], " ")
		if got := strings.Join(joined, " "); got != want {
			t.Errorf("%s holds other sentences than its run", d.ID)
		}
	}
	if got := joinMax([]string{"aaa", "bb", "cccc", strings.Repeat("x", 12)}, 8); !slices.Equal(got, []string{"aaa bb", "cccc", "xxxxxxxx"}) {
		t.Errorf("joinMax = %q", got)
	}
}

func TestLoadGeneral(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := loadGeneral(dir); err == nil || !strings.Contains(err.Error(), "no doc-N.json") {
		t.Errorf("empty folder: %v", err)
	}
	write("doc-1.json", `["b"]`)
	write("doc-0.json", `["a  \n b", "c"]`)
	write("README.md", "not a sentence file")
	got, err := loadGeneral(dir)
	if err != nil || fmt.Sprint(got) != "[[a b c] [b]]" {
		t.Errorf("loadGeneral = %q, %v", got, err)
	}
	write("doc-3.json", `[]`)
	if _, err := loadGeneral(dir); err == nil || !strings.Contains(err.Error(), "no doc-2.json") {
		t.Errorf("a gap: %v", err)
	}
	os.Remove(filepath.Join(dir, "doc-3.json"))
	write("doc-1.json", `{"not": "an array"}`)
	if _, err := loadGeneral(dir); err == nil || !strings.Contains(err.Error(), "doc-1.json") {
		t.Errorf("bad JSON: %v", err)
	}
}

// The committed general files share no sentence and no run of
// shingleWords words with any other committed file, and no sentence of
// theirs sits in two of their splits. (The build checks each source
// sentence against the other domains' whole corpora; this re-checks the
// result on what is committed, sentence by sentence as sentences()
// splits a row.)
func TestCommittedGeneralDisjoint(t *testing.T) {
	other := newSentenceSet()
	for _, d := range TextDomains() {
		if d == DomainGeneral {
			continue
		}
		for _, s := range Splits {
			_, rows, _, _ := readAll(t, FilePath("data", GPT2Tiny, d, s))
			other.addCorpus(sentencesOf(d, rows...))
		}
	}
	where := map[uint64]string{}
	sents := 0
	for _, s := range Splits {
		_, rows, _, _ := readAll(t, FilePath("data", GPT2Tiny, DomainGeneral, s))
		for j, row := range rows {
			for _, p := range sentences(row) {
				sents++
				if len(strings.Fields(p)) >= minPieceWords {
					if exact, near := other.match(p); exact|near != 0 {
						t.Errorf("general %s row %d: a sentence of %d bytes found in other domains (bits %b, %b)", s, j, len(p), exact, near)
					}
				}
				h := hash64(normSentence(p))
				if prev, ok := where[h]; ok && prev != s && len(strings.Fields(p)) >= minPieceWords {
					t.Errorf("general %s row %d: a sentence of %d bytes also in %s", s, j, len(p), prev)
				}
				where[h] = s
			}
		}
	}
	if sents < 15000 {
		t.Errorf("only %d sentences in the committed general files", sents)
	}
}
