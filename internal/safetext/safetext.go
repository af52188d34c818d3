package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// unsafe reports whether r must not reach a terminal as it is: a control character
// (C0, DEL, C1) or an invisible character that reorders or splits text.
func unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, // Arabic letter mark, LRM, RLM
		r >= 0x202a && r <= 0x202e, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2066 && r <= 0x2069, // LRI, RLI, FSI, PDI
		r == 0x2028, r == 0x2029:   // line and paragraph separators
		return true
	}
	return false
}

// escape writes r as a visible escape: \n, \t and \r as Go writes them, \x1b for
// the rest of the ASCII range, \u202e above.
func escape(b *strings.Builder, r rune) {
	switch r {
	case '\n':
		b.WriteString(`\n`)
		return
	case '\t':
		b.WriteString(`\t`)
		return
	case '\r':
		b.WriteString(`\r`)
		return
	}
	if r < 0x80 {
		fmt.Fprintf(b, `\x%02x`, r)
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}

// clean returns s with every unsafe rune escaped except those keep allows, and every
// byte that is not UTF-8 written \xNN.
func clean(s string, keep func(rune) bool) string {
	if isClean(s, keep) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafe(r) && !keep(r):
			escape(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isClean(s string, keep func(rune) bool) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafe(r) && !keep(r) {
			return false
		}
		i += n
	}
	return true
}

func none(rune) bool { return false }

func lineBreaks(r rune) bool { return r == '\n' || r == '\t' }

// Line returns s ready for one line of output (a table cell, a log field): every
// control character, line breaks and tabs included, is escaped.
func Line(s string) string { return clean(s, none) }

// Text returns s ready for output that may span lines (a log tail, an error message):
// line breaks and tabs stay, every other control character is escaped (a carriage
// return too: it would let a line overwrite the one before).
func Text(s string) string { return clean(s, lineBreaks) }

// IsSafe reports whether Line would return s unchanged.
func IsSafe(s string) bool { return isClean(s, none) }
