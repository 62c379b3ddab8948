package datasets

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCleanEmailPlain(t *testing.T) {
	raw := "From someone@example.org  Thu Aug 22 12:36:23 2002\n" +
		"Return-Path: <someone@example.org>\n" +
		"Received: from localhost (localhost [127.0.0.1])\n" +
		"\tby example.org (Postfix) with ESMTP id D03E543C36\n" +
		"From: Robert <kre@example.org>\n" +
		"Subject: Re: New Sequences Window\n" +
		"Content-Type: text/plain; charset=us-ascii\n" +
		"\n" +
		"    Date:        Wed, 21 Aug 2002 10:54:46 -0500\n" +
		"    From:        Chris <cwg@example.com>\n" +
		"\n" +
		"On Wed, 21 Aug 2002, Chris wrote:\n" +
		"> I can't reproduce this error.\n" +
		">> Nor can I.\n" +
		"  | quoted the other way\n" +
		"\n" +
		"For me it is very repeatable...   (like every time).\n" +
		"\n" +
		"\n" +
		"\n" +
		"This is the debug log.\n" +
		"-- \n" +
		"Robert, who signs everything\n" +
		"_______________________________________________\n" +
		"Exmh-workers mailing list\n"
	want := "For me it is very repeatable... (like every time).\n\nThis is the debug log."
	if got := cleanEmail([]byte(raw)); got != want {
		t.Errorf("cleanEmail =\n%q\nwant\n%q", got, want)
	}
}

func TestCleanEmailMIME(t *testing.T) {
	// A multipart message: a base64 attachment, an HTML alternative and a
	// quoted-printable Latin-1 plain part (which wins).
	raw := "Subject: hi\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"XX\"\n" +
		"\n" +
		"This is a multi-part message in MIME format.\n" +
		"--XX\n" +
		"Content-Type: multipart/alternative; boundary=\"YY\"\n" +
		"\n" +
		"--YY\n" +
		"Content-Type: text/plain; charset=iso-8859-1\n" +
		"Content-Transfer-Encoding: quoted-printable\n" +
		"\n" +
		"Caf=E9 au lait, s'il vous pla=EEt, with a soft=\n" +
		" line break.\n" +
		"--YY\n" +
		"Content-Type: text/html\n" +
		"\n" +
		"<html><body><p>Ignored</p></body></html>\n" +
		"--YY--\n" +
		"--XX\n" +
		"Content-Type: application/octet-stream\n" +
		"Content-Transfer-Encoding: base64\n" +
		"Content-Disposition: attachment; filename=x.bin\n" +
		"\n" +
		"AAECAwQFBgcICQ==\n" +
		"--XX--\n"
	want := "Café au lait, s'il vous plaît, with a soft line break."
	if got := cleanEmail([]byte(raw)); got != want {
		t.Errorf("cleanEmail = %q, want %q", got, want)
	}
}

func TestCleanEmailHTMLOnly(t *testing.T) {
	raw := "Content-Type: text/html; charset=utf-8\n" +
		"Content-Transfer-Encoding: base64\n" +
		"\n" +
		// base64 of the HTML below
		"PGh0bWw+PGhlYWQ+PHRpdGxlPlQ8L3RpdGxlPjxzdHlsZT5we2NvbG9yOnJlZH08L3N0eWxlPjwv\n" +
		"aGVhZD48Ym9keT48cD5CdXkgbm93ICZhbXA7IHNhdmU8L3A+Cjxmb250IHNpemU9Mj5HcmVhdApk\n" +
		"ZWFsPC9mb250Pjxicj5DbGljayBoZXJlPC9ib2R5PjwvaHRtbD4=\n"
	// <html><head><title>T</title><style>p{color:red}</style></head><body><p>Buy now &amp; save</p>
	// <font size=2>Great
	// deal</font><br>Click here</body></html>
	want := "Buy now & save\nGreat deal\nClick here"
	if got := cleanEmail([]byte(raw)); got != want {
		t.Errorf("cleanEmail = %q, want %q", got, want)
	}
}

func TestBrownSentence(t *testing.T) {
	cases := []struct{ in, want string }{
		{"\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.",
			`The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence" that any irregularities took place.`},
		{"He/pps said/vbd ,/, ``/`` I/ppss can't/md* (/( or/cc won't/md* )/) go/vb ''/'' ;/. 1/2/cd is/bez 50/cd %/nn ./.",
			`He said, "I can't (or won't) go"; 1/2 is 50%.`},
		{"Thirty-three/cd-hl", ""},
		{"`/` Tis/nn ok/jj '/' ,/, she/pps said/vbd ./.", "'Tis ok', she said."},
	}
	for _, c := range cases {
		if got := brownSentence(c.in); got != c.want {
			t.Errorf("brownSentence(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	doc := "\n\n\tA/at b/nn ./.\nC/np d/nn ./.\n\n\n\tE/np f/nn ./.\n"
	if diff := cmp.Diff([]string{"A b. C d.", "E f."}, brownParagraphs(doc)); diff != "" {
		t.Errorf("brownParagraphs (-want +got):\n%s", diff)
	}
}

const foldocSample = "abstract data type\nADT\n\n" +
	"   <programming> (ADT) A kind of {data abstraction} where a\n" +
	"   type's internal form is hidden behind a set of {access\n" +
	"   functions}.  See {Reynolds paper\n" +
	"   (http://example.org/taoop94.html)} and {(http://example.org/)}.\n\n" +
	"   A __classic__ example:\n\n" +
	"    push(s, x)\n" +
	"    pop(s)\n\n" +
	"   (2003-07-03)\n\n"

func TestFOLDOCEntry(t *testing.T) {
	e, ok := parseFOLDOCEntry(foldocSample)
	if !ok {
		t.Fatal("entry skipped")
	}
	want := foldocEntry{
		Headword: "abstract data type",
		Subjects: []string{"programming"},
		Text: "abstract data type: (ADT) A kind of data abstraction where a type's internal form is hidden behind a set of access functions. See Reynolds paper and.\n" +
			"A classic example:\n push(s, x)\n pop(s)",
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("parseFOLDOCEntry (-want +got):\n%s", diff)
	}
	multi := "Emacs\n\n   1. <text, tool> An editor.\n\n   2. <programming> A {Lisp}.\n\n   (1999-01-01)\n"
	e, _ = parseFOLDOCEntry(multi)
	if diff := cmp.Diff([]string{"text", "tool", "programming"}, e.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if e.Text != "Emacs: 1. An editor.\n2. A Lisp." {
		t.Errorf("text %q", e.Text)
	}
	// An e-mail address at the start of a paragraph is not a subject.
	e, _ = parseFOLDOCEntry("x\n\n   <someone@example.org> wrote this entry.\n")
	if len(e.Subjects) != 0 {
		t.Errorf("subjects %v from an e-mail address", e.Subjects)
	}
}

func TestParseFOLDOCIndex(t *testing.T) {
	for s, want := range map[string]int64{"A": 0, "B": 1, "/": 63, "BA": 64, "Gb9L": 6*64*64*64 + 27*64*64 + 61*64 + 11} {
		got, err := parseDictdNumber(s)
		if err != nil || got != want {
			t.Errorf("parseDictdNumber(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	if _, err := parseDictdNumber("a*"); err == nil {
		t.Error("parseDictdNumber(a*): no error")
	}
	second := "zeta\n\n   <language> A language of some length.\n"
	dict := foldocSample + second
	off := len(foldocSample)
	b64 := func(n int) string {
		const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		s := ""
		for {
			s = string(digits[n%64]) + s
			n /= 64
			if n == 0 {
				return s
			}
		}
	}
	index := "ADT\t" + b64(0) + "\t" + b64(len(foldocSample)) + "\n" +
		"abstract data type\t" + b64(0) + "\t" + b64(len(foldocSample)) + "\n" +
		"00-database-info\t" + b64(0) + "\t" + b64(5) + "\n" +
		"zeta\t" + b64(off) + "\t" + b64(len(second)) + "\n"
	entries, err := parseFOLDOC([]byte(dict), index)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Headword != "abstract data type" || entries[1].Headword != "zeta" {
		t.Fatalf("entries %+v", entries)
	}
	kept, subjects := foldocSubjects(entries, 1)
	// programming and language tie at one entry each: the name decides.
	if diff := cmp.Diff([]string{"language"}, subjects); diff != "" || len(kept) != 1 || kept[0].Headword != "zeta" {
		t.Errorf("foldocSubjects: %v, %d entries", subjects, len(kept))
	}
	if _, err := parseFOLDOC([]byte(dict), "zeta\tBA\tZZZZ\n"); err == nil {
		t.Error("an entry past the end: no error")
	}
}

func TestParseKJV(t *testing.T) {
	out := "\nGenesis 1\n\n  1 In the beginning God created the heaven and the earth.\n" +
		"  2 And the earth was without form, and void; and darkness was upon the face of\n" +
		"the deep.\n\nGenesis 2\n\n  1 Thus the heavens\nand the earth were finished.\n" +
		"\nSong of Solomon 1\n\n  1 The song of songs, which is Solomon's.\n"
	got, err := parseKJV(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []verse{
		{"Genesis", 1, 1, "In the beginning God created the heaven and the earth."},
		{"Genesis", 1, 2, "And the earth was without form, and void; and darkness was upon the face of the deep."},
		{"Genesis", 2, 1, "Thus the heavens and the earth were finished."},
		{"Song of Solomon", 1, 1, "The song of songs, which is Solomon's."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseKJV (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"\nGenesis 2\n\n  1 x\n",           // chapter 2 before 1
		"\nGenesys 1\n\n  1 x\n",           // unknown book
		"\nGenesis 1\n\n  1 x\n  3 y\n",    // verse 2 missing
		"\nGenesis 1\n\n  one x\n",         // not a verse number
		"stray text\n\nGenesis 1\n\n  1\n", // text before any verse
	} {
		if _, err := parseKJV(bad); err == nil {
			t.Errorf("parseKJV(%q): no error", bad)
		}
	}
	if kjvGroup("Acts") != "new" || kjvGroup("Lamentations") != "prophets" || kjvGroup("Ruth") != "history" || len(kjvBooks) != 66 {
		t.Error("book groups wrong")
	}
}

func TestSpeechParagraphs(t *testing.T) {
	s := strings.Repeat("This is a sentence of exactly forty-six bytes. ", 30) + "Short end."
	paras := speechParagraphs(s)
	for i, p := range paras {
		if len(p) < speechParagraphBytes && i < len(paras)-1 {
			t.Errorf("paragraph %d has %d bytes, want ≥ %d", i, len(p), speechParagraphBytes)
		}
		if !strings.HasSuffix(p, ".") || !strings.HasPrefix(p, "This") {
			t.Errorf("paragraph %d is not whole sentences: %q", i, p)
		}
	}
	if got := strings.Join(paras, " "); got != strings.TrimSpace(s) {
		t.Errorf("paragraphs lose text:\n%q\n%q", got, s)
	}
	if diff := cmp.Diff([]string{`He said "Go."`, "Then Mr.", "Smith left!", "(Applause.)"},
		sentences(`He said "Go." Then Mr. Smith left! (Applause.)`)); diff != "" {
		t.Errorf("sentences (-want +got):\n%s", diff)
	}
}

func TestProseUnits(t *testing.T) {
	long := strings.Repeat("Word word word word word word word word word. ", 100) // 4,600 bytes
	units := proseUnits([]string{"Short one.", long, strings.Repeat("x", 5000)}, "L")
	if units[0].Text != "Short one." || units[0].Label != "L" {
		t.Errorf("first unit %+v", units[0])
	}
	for _, u := range units {
		if len(u.Text) > maxUnitBytes {
			t.Errorf("unit of %d bytes > %d", len(u.Text), maxUnitBytes)
		}
	}
	if len(units) < 4 {
		t.Errorf("%d units; the long paragraph was not regrouped", len(units))
	}
	if got := clip("aaa bbb ccc", 9); got != "aaa bbb" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("héé", 2); got != "h" {
		t.Errorf("clip cuts a rune: %q", got)
	}
}
