package datasets

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
)

// SpamAssassin emails are raw RFC 822 messages (an mbox "From " line,
// headers, a blank line, the body), some MIME multipart, some
// quoted-printable or base64, in many charsets, some HTML only.

// maxEmailBytes caps a cleaned email body; longer bodies are cut at a
// word boundary.
const maxEmailBytes = 4000

// cleanEmail returns the readable body of a raw email: headers stripped;
// MIME parts decoded (text/plain preferred, HTML converted to text when a
// message has no plain part, attachments dropped); text converted to
// UTF-8; then quoted replies (lines starting '>' or '|'), the
// "… wrote:" attribution lines, forwarded original messages, signatures
// (from a "-- " line) and mailing-list footers, PGP armour and
// base64-looking lines removed. It returns "" when nothing readable is
// left.
func cleanEmail(raw []byte) string {
	hdr, body := splitHeaders(raw)
	text := mimeText(hdr, body, 0)
	return clip(cleanBody(text), maxEmailBytes)
}

// header is a message's or MIME part's headers, names lower-cased.
type header map[string]string

// splitHeaders separates headers from body, unfolding continuation lines.
// A leading mbox "From " line is skipped.
func splitHeaders(raw []byte) (header, []byte) {
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		}
	}
	h := header{}
	last := ""
	for len(raw) > 0 {
		line, rest, _ := bytes.Cut(raw, []byte("\n"))
		if len(bytes.TrimSpace(line)) == 0 {
			raw = rest
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				h[last] += " " + string(bytes.TrimSpace(line))
			}
			raw = rest
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || bytes.ContainsAny(name, " \t") {
			// Not a header: the message has no blank line after its
			// headers; the rest, this line included, is body.
			break
		}
		last = strings.ToLower(string(name))
		if _, dup := h[last]; !dup {
			h[last] = string(bytes.TrimSpace(value))
		}
		raw = rest
	}
	return h, raw
}

// mimeText returns the text of a part: decoded, converted to UTF-8; for
// multipart parts the text of the best sub-part.
func mimeText(h header, body []byte, depth int) string {
	mediaType, params, err := mime.ParseMediaType(h["content-type"])
	if err != nil || h["content-type"] == "" {
		mediaType, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mediaType, "multipart/") && depth < 5 {
		parts := splitMultipart(body, params["boundary"])
		var plain, htmlText string
		for _, p := range parts {
			ph, pb := splitHeaders(p)
			if ph["content-type"] == "" {
				ph["content-type"] = "text/plain"
			}
			if d := strings.ToLower(ph["content-disposition"]); strings.HasPrefix(d, "attachment") {
				continue
			}
			pt, _, _ := mime.ParseMediaType(ph["content-type"])
			switch {
			case strings.HasPrefix(pt, "multipart/"):
				if t := mimeText(ph, pb, depth+1); plain == "" && t != "" {
					plain = t
				}
			case pt == "text/plain" && plain == "":
				plain = mimeText(ph, pb, depth+1)
			case pt == "text/html" && htmlText == "":
				htmlText = mimeText(ph, pb, depth+1)
			}
		}
		if strings.TrimSpace(plain) != "" {
			return plain
		}
		return htmlText
	}
	if !strings.HasPrefix(mediaType, "text/") {
		return ""
	}
	data := decodeTransfer(h["content-transfer-encoding"], body)
	text := toUTF8(data, params["charset"])
	if mediaType == "text/html" || looksHTML(text) {
		text = htmlToText(text)
	}
	return text
}

// splitMultipart cuts a multipart body at its boundary lines. It is
// lenient: a missing closing boundary ends the last part at the end.
func splitMultipart(body []byte, boundary string) [][]byte {
	if boundary == "" {
		return [][]byte{body}
	}
	delim := []byte("--" + boundary)
	var parts [][]byte
	var cur []byte
	in := false
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		t := bytes.TrimRight(line, " \t\r\n")
		if bytes.HasPrefix(t, delim) {
			if in {
				parts = append(parts, cur)
			}
			cur, in = nil, !bytes.HasSuffix(t, []byte("--"))
			if !in {
				break
			}
			continue
		}
		if in {
			cur = append(cur, line...)
		}
	}
	if in && len(cur) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// decodeTransfer undoes quoted-printable and base64 encodings; on a
// decoding error it keeps what was decoded.
func decodeTransfer(enc string, body []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		return out
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, body)
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, _ := base64.StdEncoding.Decode(out, clean)
		return out[:n]
	}
	return body
}

// toUTF8 converts data from charset to UTF-8. Unknown charsets, and text
// that claims UTF-8 or ASCII but is not valid UTF-8, are read as
// Windows-1252 (a superset of Latin-1's printable range).
func toUTF8(data []byte, charset string) string {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	if utf8.Valid(data) && (cs == "" || cs == "us-ascii" || cs == "utf-8" || cs == "utf8" || isASCII(data)) {
		return string(data)
	}
	if cs != "" {
		if enc, err := htmlindex.Get(cs); err == nil {
			if out, err := enc.NewDecoder().Bytes(data); err == nil && utf8.Valid(out) {
				return string(out)
			}
		}
	}
	out, _ := charmap.Windows1252.NewDecoder().Bytes(data)
	return strings.ToValidUTF8(string(out), "")
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var (
	htmlStart   = regexp.MustCompile(`(?i)^\s*(<!doctype html|<html|<head|<body|<table|<div|<p>|<font|<center)`)
	htmlDrop    = regexp.MustCompile(`(?is)<(script|style|head|title)\b.*?</(script|style|head|title)\s*>|<!--.*?-->`)
	htmlBreak   = regexp.MustCompile(`(?i)<\s*(br|/p|p|/div|div|/tr|tr|/li|li|/h[1-6]|hr|/table|table)\b[^>]*>`)
	htmlTag     = regexp.MustCompile(`(?s)<[^>]*>`)
	quoteLine   = regexp.MustCompile(`^\s*(>|\|(\s|$))`)
	attribution = regexp.MustCompile(`(?i)(wrote|writes|said|schrieb)\s*:\s*$`)
	cutLine     = regexp.MustCompile(`(?i)^\s*(-- ?|_{10,}|-{3,}\s*original message\s*-{3,}|-{3,}\s*forwarded message.*|-{5,}\s*begin pgp signature\s*-{5,}|begin forwarded text|-*\s*yahoo! groups sponsor.*|to unsubscribe from this group.*|your use of yahoo! groups is subject to.*|this sf\.net email is sponsored by.*|-*deathtospam(deathtospam)*-*)\s*$`)
	listFooter  = regexp.MustCompile(`(?i)^\s*(https?://\S+/mailman/listinfo/\S*|date: not supplied)\s*$`)
	separator   = regexp.MustCompile(`^[-=_*~#+.\s]*$`)
	pgpHeader   = regexp.MustCompile(`(?i)^\s*(-{5,}\s*begin pgp signed message\s*-{5,}|hash:\s*\S+)\s*$`)
	mimeJunk    = regexp.MustCompile(`(?i)^\s*(this is a multi-part message in mime format\.?|this message is in mime format.*|content-[a-z-]+:.*|--=_.*|------=_.*|=_.*)\s*$`)
	junkLine    = regexp.MustCompile(`^\S{60,}$`)
	headerLike  = regexp.MustCompile(`^\s*(Date|From|To|Cc|Subject|Message-ID|Sent|Reply-To):\s`)
)

// looksHTML reports text that is an HTML document though not labelled so.
func looksHTML(s string) bool { return htmlStart.MatchString(s) }

// htmlToText drops scripts, styles and comments, turns block tags into
// line breaks (other whitespace is one space, as a browser shows it),
// removes the other tags and unescapes entities.
func htmlToText(s string) string {
	s = strings.Join(strings.Fields(s), " ") // source line breaks mean nothing in HTML
	s = htmlDrop.ReplaceAllString(s, " ")
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, " ")
	return html.UnescapeString(s)
}

// cleanBody removes quoted replies, attributions, signatures, footers and
// junk lines from a decoded body and tidies the whitespace.
func cleanBody(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	var keep []string
	start := true // still in the body's leading lines
	for _, l := range lines {
		if cutLine.MatchString(l) {
			break
		}
		if start && (headerLike.MatchString(l) || strings.TrimSpace(l) == "") {
			continue // a forwarded or quoted header block opening the body
		}
		start = false
		if quoteLine.MatchString(l) || attribution.MatchString(l) || pgpHeader.MatchString(l) ||
			mimeJunk.MatchString(l) || listFooter.MatchString(l) || junkLine.MatchString(strings.TrimSpace(l)) {
			continue
		}
		keep = append(keep, l)
	}
	for len(keep) > 0 && separator.MatchString(keep[len(keep)-1]) {
		keep = keep[:len(keep)-1] // rules and blank lines left above a cut footer
	}
	return tidy(strings.Join(keep, "\n"))
}
