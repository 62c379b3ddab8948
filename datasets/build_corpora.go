package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// loadCorpus fetches what domain d needs and builds its corpus.
func loadCorpus(f *fetcher, d string) (*Corpus, error) {
	switch d {
	case DomainSpeech, DomainParty:
		dir, err := f.fetch(srcSOTU)
		if err != nil {
			return nil, err
		}
		speeches, err := loadSOTU(filepath.Join(dir, "package", "data"))
		if err != nil {
			return nil, err
		}
		if d == DomainSpeech {
			return speechCorpus(speeches), nil
		}
		return partyCorpus(speeches), nil
	case DomainScripture, DomainBook:
		text, err := f.fetch(srcKJVText)
		if err != nil {
			return nil, err
		}
		prog, err := f.fetch(srcKJV)
		if err != nil {
			return nil, err
		}
		out, err := kjvText(prog, text)
		if err != nil {
			return nil, err
		}
		verses, err := parseKJV(out)
		if err != nil {
			return nil, err
		}
		return kjvCorpus(d, verses), nil
	case DomainEmail, DomainSpam:
		dir, err := f.fetch(srcSpam)
		if err != nil {
			return nil, err
		}
		return emailCorpus(d, filepath.Join(dir, "package", "data"))
	case DomainComputing, DomainSubject:
		dir, err := f.fetch(srcFOLDOC)
		if err != nil {
			return nil, err
		}
		return foldocCorpus(d, filepath.Join(dir, "usr", "share", "dictd"))
	case DomainFiction, DomainProse, DomainGenre:
		dir, err := f.fetch(srcBrown)
		if err != nil {
			return nil, err
		}
		brown, err := loadBrown(filepath.Join(dir, "package"))
		if err != nil {
			return nil, err
		}
		var moby []mobyChapter
		if d == DomainFiction {
			mdir, err := f.fetch(srcMoby)
			if err != nil {
				return nil, err
			}
			if moby, err = loadMoby(filepath.Join(mdir, "package", "data")); err != nil {
				return nil, err
			}
		}
		return brownCorpus(d, brown, moby), nil
	}
	return nil, fmt.Errorf("unknown domain %q", d)
}

// proseUnits turns paragraphs into units: a paragraph longer than
// maxUnitBytes is regrouped into runs of sentences of about half that,
// and a single overlong sentence is cut.
func proseUnits(paras []string, label string) []Unit {
	var out []Unit
	for _, p := range paras {
		chunks := []string{p}
		if len(p) > maxUnitBytes {
			chunks = group(sentences(p), maxUnitBytes/2)
		}
		for _, c := range chunks {
			if c = clip(strings.TrimSpace(c), maxUnitBytes); c != "" {
				out = append(out, Unit{Text: c, Label: label})
			}
		}
	}
	return out
}

func speechCorpus(speeches []speech) *Corpus {
	c := &Corpus{Domain: DomainSpeech, Source: srcSOTU.ID(), Licence: srcSOTU.Licence}
	for _, s := range speeches {
		c.Docs = append(c.Docs, Doc{ID: "sotu/" + s.ID, Units: proseUnits(speechParagraphs(s.Text), "")})
	}
	return c
}

// partyCorpus keeps the speeches of Democratic and Republican presidents
// (the parties of the package's JSON; Democratic-Republican, Whig,
// Federalist and the rest are left out).
func partyCorpus(speeches []speech) *Corpus {
	c := &Corpus{Domain: DomainParty, Source: srcSOTU.ID(), Licence: srcSOTU.Licence,
		Labels: []string{"Democratic", "Republican"}}
	for _, s := range speeches {
		if s.Party == "Democratic" || s.Party == "Republican" {
			c.Docs = append(c.Docs, Doc{ID: "sotu/" + s.ID, Units: proseUnits(speechParagraphs(s.Text), s.Party)})
		}
	}
	return c
}

// kjvCorpus makes scripture (verses, unlabelled) or book (verses labelled
// by book group); a document is a book's chapter.
func kjvCorpus(d string, verses []verse) *Corpus {
	c := &Corpus{Domain: d, Source: srcKJVText.ID() + "," + srcKJV.ID(), Licence: srcKJVText.Licence}
	if d == DomainBook {
		c.Labels = kjvGroupLabels
	}
	for _, v := range verses {
		id := fmt.Sprintf("kjv/%s %d", v.Book, v.Chapter)
		if len(c.Docs) == 0 || c.Docs[len(c.Docs)-1].ID != id {
			c.Docs = append(c.Docs, Doc{ID: id})
		}
		u := Unit{Text: v.Text}
		if d == DomainBook {
			u.Label = kjvGroup(v.Book)
		}
		doc := &c.Docs[len(c.Docs)-1]
		doc.Units = append(doc.Units, u)
	}
	return c
}

// emailGroups are the SpamAssassin folders, in build order, and whether
// they hold spam.
var emailGroups = []struct {
	Name string
	Spam bool
}{{"easy-ham-1", false}, {"easy-ham-2", false}, {"hard-ham-1", false}, {"spam-1", true}, {"spam-2", true}}

// emailCorpus makes email (ham bodies) or spam (ham and spam bodies,
// labelled). Each email is a document of one unit; an email whose
// cleaned body is empty, or repeats an earlier body exactly, is dropped.
func emailCorpus(d, dir string) (*Corpus, error) {
	c := &Corpus{Domain: d, Source: srcSpam.ID(), Licence: srcSpam.Licence}
	if d == DomainSpam {
		c.Labels = []string{"ham", "spam"}
	}
	seen := map[string]bool{}
	for _, g := range emailGroups {
		if d == DomainEmail && g.Spam {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, g.Name, "*.txt"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("spam-assassin: no emails in %s", filepath.Join(dir, g.Name))
		}
		sort.Strings(files)
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("spam-assassin: %w", err)
			}
			body := clip(cleanEmail(raw), maxUnitBytes)
			if len(body) < 20 || seen[body] {
				continue
			}
			seen[body] = true
			label := ""
			if d == DomainSpam {
				label = map[bool]string{false: "ham", true: "spam"}[g.Spam]
			}
			c.Docs = append(c.Docs, Doc{ID: "spam-assassin/" + g.Name + "/" + filepath.Base(file),
				Units: []Unit{{Text: body, Label: label}}})
		}
	}
	return c, nil
}

// foldocCorpus makes computing (every entry) or subject (entries with one
// subject among the five commonest single subjects, labelled by it).
func foldocCorpus(d, dir string) (*Corpus, error) {
	dict, err := readGzip(filepath.Join(dir, "foldoc.dict.dz"))
	if err != nil {
		return nil, fmt.Errorf("foldoc: %w", err)
	}
	index, err := os.ReadFile(filepath.Join(dir, "foldoc.index"))
	if err != nil {
		return nil, fmt.Errorf("foldoc: %w", err)
	}
	entries, err := parseFOLDOC(dict, string(index))
	if err != nil {
		return nil, err
	}
	c := &Corpus{Domain: d, Source: srcFOLDOC.ID(), Licence: srcFOLDOC.Licence}
	if d == DomainSubject {
		entries, c.Labels = foldocSubjects(entries, 5)
	}
	seen := map[string]int{}
	for _, e := range entries {
		id := "foldoc/" + e.Headword
		if seen[id]++; seen[id] > 1 {
			id = fmt.Sprintf("%s#%d", id, seen[id]) // a headword with two entries
		}
		u := Unit{Text: clip(e.Text, maxUnitBytes)}
		if d == DomainSubject {
			u.Label = e.Subjects[0]
		}
		c.Docs = append(c.Docs, Doc{ID: id, Units: []Unit{u}})
	}
	return c, nil
}

// brownCorpus makes fiction (Moby-Dick chapters, then the Brown fiction
// texts), prose (the Brown non-fiction texts) or genre (all 500 Brown
// texts, labelled by genre group); units are paragraphs.
func brownCorpus(d string, brown []brownDoc, moby []mobyChapter) *Corpus {
	c := &Corpus{Domain: d, Source: srcBrown.ID(), Licence: srcBrown.Licence}
	switch d {
	case DomainFiction:
		c.Source = srcMoby.ID() + "," + srcBrown.ID()
		c.Licence = "Moby-Dick: " + srcMoby.Licence + "; " + srcBrown.Licence
		for _, ch := range moby {
			c.Docs = append(c.Docs, Doc{ID: "moby-dick/" + ch.ID, Units: proseUnits(ch.Paragraphs, "")})
		}
	case DomainGenre:
		c.Labels = brownGenreLabels
	}
	for _, b := range brown {
		g := brownGroup[b.Genre]
		fiction := g == "fiction"
		label := ""
		switch {
		case d == DomainGenre:
			label = g
		case d == DomainFiction && !fiction, d == DomainProse && fiction:
			continue
		}
		c.Docs = append(c.Docs, Doc{ID: "brown/" + b.ID, Units: proseUnits(b.Paragraphs, label)})
	}
	return c
}

// extraFor returns the extra metadata a tokenizer's files carry.
func extraFor(tok Tokenizer) map[string]string {
	switch tok.Name() {
	case GPT2:
		return map[string]string{ExtraSepID: fmt.Sprint(EndOfText)}
	case BERTUncased, BERTTiny:
		return map[string]string{ExtraSepID: fmt.Sprint(BERTSEP), ExtraClsID: fmt.Sprint(BERTCLS),
			ExtraMaskID: fmt.Sprint(BERTMask), ExtraPadID: fmt.Sprint(BERTPad)}
	}
	return nil
}
