package config

import (
	"bytes"
	"fmt"
	"strings"
)

// prescan bounds the parser's work before it starts: the parser's cost grows with the
// square of the nesting depth, and by a few hundred bytes with every token. It reads the
// bytes once, as a YAML lexer would but keeping nothing, and returns the line of the
// first token past the depth or token limit, or 0. Where it cannot tell (text inside a
// block scalar), it counts brackets as nesting: it may overcount, never undercount.
func prescan(b []byte, l Limits) (line int, msg string) {
	p := &prescanner{b: b, ln: 1, lineHead: true, start: true, keyCol: -1}
	for i := 0; i < len(b); i++ {
		if p.tokens > l.MaxTokens {
			return p.ln, fmt.Sprintf("more than %d YAML tokens (keys, values, punctuation, comments); a hoist configuration needs a few thousand", l.MaxTokens)
		}
		if len(p.block)+p.flow > l.MaxDepth {
			return p.ln, fmt.Sprintf("nested more than %d levels deep; hoist's configuration needs fewer than 10", l.MaxDepth)
		}
		i = p.step(i)
	}
	return 0, ""
}

// prescanner is prescan's state.
type prescanner struct {
	b        []byte
	block    []opener // open block collections, by column
	flow     int      // open [ and {
	tokens   int
	ln       int  // current line
	ls       int  // offset of the current line
	lineHead bool // only spaces so far on this line
	start    bool // a token may start here
	keyCol   int  // column of the scalar that started last on this line
	owner    int  // column of the node a block scalar belongs to
	quote    byte // the quote of a scalar that did not end on its line
}

// opener is an open block collection.
type opener struct {
	col int
	seq bool // "-" rather than a mapping key
}

func (p *prescanner) spaceAt(i int) bool {
	b := p.b
	return i >= len(b) || b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'
}

// push opens a block collection at o.col, closing those it ends.
func (p *prescanner) push(o opener) {
	for len(p.block) > 0 {
		top := p.block[len(p.block)-1]
		if top.col > o.col || top.col == o.col && (!o.seq || top.seq) {
			p.block = p.block[:len(p.block)-1]
			continue
		}
		break
	}
	p.block = append(p.block, o)
}

// lineEnd returns the offset before the newline that ends b[i]'s line (the loop's
// next step reads that newline).
func (p *prescanner) lineEnd(i int) int {
	for i < len(p.b) && p.b[i] != '\n' {
		i++
	}
	return i - 1
}

// step reads b[i] (and what it starts) and returns the offset of the last byte read.
func (p *prescanner) step(i int) int {
	b, c := p.b, p.b[i]
	switch {
	case c == '\n':
		p.ln++
		p.ls, p.lineHead, p.keyCol = i+1, true, -1
		p.start = p.start || p.flow == 0
		return i
	case c == ' ' || c == '\t' || c == '\r':
		return i
	case p.quote != 0:
		// Perhaps inside a quoted scalar that spans lines: nothing is skipped as a
		// comment and nothing closes until the quote does.
		if c == p.quote {
			p.quote = 0
		}
		if c == '[' || c == '{' {
			p.flow++
		}
		return i
	case c == '#' && (i == 0 || p.spaceAt(i-1)):
		p.tokens++
		return p.lineEnd(i)
	}
	wasHead := p.lineHead
	p.lineHead = false
	if wasHead && p.flow == 0 && (c == '%' || (c == '-' || c == '.') && i+2 < len(b) && b[i+1] == c && b[i+2] == c && p.spaceAt(i+3)) {
		// A directive or a document marker: the line holds nothing else that nests.
		p.tokens++
		p.block = p.block[:0]
		return p.lineEnd(i)
	}
	return p.token(i)
}

// token reads the token that starts at b[i] and returns the offset of its last byte.
func (p *prescanner) token(i int) int {
	b, c, col := p.b, p.b[i], i-p.ls
	switch {
	case (c == '[' || c == '{') && (p.start || p.flow > 0):
		p.flow++
		p.tokens++
		p.start = true
	case (c == ']' || c == '}') && p.flow > 0:
		p.flow--
		p.tokens++
		p.start = p.flow > 0
	case c == ',' && p.flow > 0:
		p.tokens++
		p.start = true
	case (c == '-' || c == '?') && p.start && p.spaceAt(i+1):
		p.tokens++
		if p.flow == 0 {
			p.push(opener{col: col, seq: c == '-'})
			p.owner = col
		}
		p.start = true
	case c == ':' && (p.spaceAt(i+1) || p.flow > 0):
		p.tokens++
		if p.flow == 0 && p.keyCol >= 0 {
			p.push(opener{col: p.keyCol})
			p.owner = p.keyCol
		}
		p.start = true
	case (c == '&' || c == '*' || c == '!') && p.start:
		p.tokens++
		for i+1 < len(b) && !p.spaceAt(i+1) && (p.flow == 0 || !strings.ContainsRune(",[]{}", rune(b[i+1]))) {
			i++
		}
	case (c == '"' || c == '\'') && p.start:
		return p.quoted(i, col)
	case (c == '|' || c == '>') && p.start && p.flow == 0:
		p.tokens++
		end := skipBlockScalar(b, i, p.owner)
		p.ln += bytes.Count(b[i:end], []byte("\n"))
		return end - 1 // the newline at end starts the next line
	default:
		if p.start {
			p.tokens++
			p.keyCol = col
		}
		p.start = false
	}
	return i
}

// quoted reads a quoted scalar that starts at b[i], column col.
func (p *prescanner) quoted(i, col int) int {
	p.tokens++
	p.keyCol = col
	p.start = false
	if end := closingQuote(p.b, i); end > 0 {
		return end
	}
	p.quote = p.b[i]
	return i
}
