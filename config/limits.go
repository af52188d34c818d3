package config

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Limits bound what loading a file may cost. Each zero field means its default. A
// hoist configuration is a few KB: the defaults are far above any real one and keep a
// hostile or mistaken file under a second and under 100 MB.
type Limits struct {
	// MaxSize is the largest file accepted, in bytes.
	MaxSize int64
	// MaxDepth is the deepest nesting of mappings and sequences.
	MaxDepth int
	// MaxTokens is the most YAML tokens (keys, values, punctuation, comments) read.
	MaxTokens int
	// MaxNodes is the most values the document may hold once every alias is expanded.
	MaxNodes int
}

// Default limits.
const (
	DefaultMaxSize   = 512 << 10
	DefaultMaxDepth  = 100
	DefaultMaxTokens = 50_000
	DefaultMaxNodes  = 100_000
)

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = DefaultMaxTokens
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	return l
}

// prescan bounds the parser's work before it starts: the parser's cost grows with the
// square of the nesting depth, and by a few hundred bytes with every token. It reads the
// bytes once, as a YAML lexer would but keeping nothing, and returns the line of the
// first token past the depth or token limit, or 0. Where it cannot tell (text inside a
// block scalar), it counts brackets as nesting: it may overcount, never undercount.
func prescan(b []byte, l Limits) (line int, msg string) {
	type opener struct {
		col int
		seq bool // "-" rather than a mapping key
	}
	var (
		block    []opener // open block collections, by column
		flow     int      // open [ and {
		tokens   int
		ln       = 1
		ls       int    // offset of the current line
		lineHead = true // only spaces so far on this line
		start    = true // a token may start here
		keyCol   = -1   // column of the scalar that started last on this line
		owner    int    // column of the node a block scalar belongs to
		quote    byte   // the quote of a scalar that did not end on its line
	)
	spaceAt := func(i int) bool {
		return i >= len(b) || b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'
	}
	push := func(o opener) {
		for len(block) > 0 {
			top := block[len(block)-1]
			if top.col > o.col || top.col == o.col && (!o.seq || top.seq) {
				block = block[:len(block)-1]
				continue
			}
			break
		}
		block = append(block, o)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		col := i - ls
		if tokens > l.MaxTokens {
			return ln, fmt.Sprintf("more than %d YAML tokens (keys, values, punctuation, comments); a hoist configuration needs a few thousand", l.MaxTokens)
		}
		if len(block)+flow > l.MaxDepth {
			return ln, fmt.Sprintf("nested more than %d levels deep; hoist's configuration needs fewer than 10", l.MaxDepth)
		}
		switch {
		case c == '\n':
			ln++
			ls, lineHead, keyCol = i+1, true, -1
			start = start || flow == 0
			continue
		case c == ' ' || c == '\t' || c == '\r':
			continue
		case quote != 0:
			// Perhaps inside a quoted scalar that spans lines: nothing is skipped as a
			// comment and nothing closes until the quote does.
			if c == quote {
				quote = 0
			}
			if c == '[' || c == '{' {
				flow++
			}
			continue
		case c == '#' && (i == 0 || spaceAt(i-1)):
			tokens++
			for i < len(b) && b[i] != '\n' {
				i++
			}
			i--
			continue
		}
		wasHead := lineHead
		lineHead = false
		if wasHead && flow == 0 && (c == '%' || (c == '-' || c == '.') && i+2 < len(b) && b[i+1] == c && b[i+2] == c && spaceAt(i+3)) {
			// A directive or a document marker: the line holds nothing else that nests.
			tokens++
			block = block[:0]
			for i < len(b) && b[i] != '\n' {
				i++
			}
			i--
			continue
		}
		switch {
		case (c == '[' || c == '{') && (start || flow > 0):
			flow++
			tokens++
			start = true
		case (c == ']' || c == '}') && flow > 0:
			flow--
			tokens++
			start = flow > 0
		case c == ',' && flow > 0:
			tokens++
			start = true
		case (c == '-' || c == '?') && start && spaceAt(i+1):
			tokens++
			if flow == 0 {
				push(opener{col: col, seq: c == '-'})
				owner = col
			}
			start = true
		case c == ':' && (spaceAt(i+1) || flow > 0):
			tokens++
			if flow == 0 && keyCol >= 0 {
				push(opener{col: keyCol})
				owner = keyCol
			}
			start = true
		case (c == '&' || c == '*' || c == '!') && start:
			tokens++
			for i+1 < len(b) && !spaceAt(i+1) && (flow == 0 || !strings.ContainsRune(",[]{}", rune(b[i+1]))) {
				i++
			}
		case (c == '"' || c == '\'') && start:
			tokens++
			keyCol = col
			if end := closingQuote(b, i); end > 0 {
				i = end
			} else {
				quote = c
			}
			start = false
		case (c == '|' || c == '>') && start && flow == 0:
			tokens++
			end := skipBlockScalar(b, i, owner)
			ln += bytes.Count(b[i:end], []byte("\n"))
			i = end - 1 // the newline at end starts the next line
		default:
			if start {
				tokens++
				keyCol = col
			}
			start = false
		}
	}
	return 0, ""
}

// closingQuote returns the offset of the quote that ends the scalar quoted at b[i] on
// the same line, or 0.
func closingQuote(b []byte, i int) int {
	q := b[i]
	for j := i + 1; j < len(b) && b[j] != '\n'; j++ {
		switch {
		case q == '"' && b[j] == '\\':
			j++
		case b[j] == q && q == '\'' && j+1 < len(b) && b[j+1] == '\'':
			j++
		case b[j] == q:
			return j
		}
	}
	return 0
}

// skipBlockScalar skips a literal (|) or folded (>) scalar whose indicator is at b[i]
// and whose parent node starts at column owner: the rest of the indicator's line, then
// blank lines and lines indented at least as much as the first one with text, which
// must be indented more than owner. It returns the offset of the newline that ends the
// scalar's last line, or len(b).
func skipBlockScalar(b []byte, i, owner int) int {
	nl := bytes.IndexByte(b[i:], '\n')
	if nl < 0 {
		return len(b)
	}
	content := -1
	if d := bytes.IndexAny(b[i:i+nl], "123456789"); d >= 0 {
		content = owner + int(b[i+d]-'0')
	}
	end := i + nl
	for end < len(b) {
		j := end + 1
		k := j
		for k < len(b) && b[k] == ' ' {
			k++
		}
		if k >= len(b) {
			return len(b)
		}
		if b[k] != '\n' && b[k] != '\r' {
			ind := k - j
			if content < 0 {
				if ind <= owner {
					return end
				}
				content = ind
			}
			if ind < content {
				return end
			}
		}
		e := bytes.IndexByte(b[k:], '\n')
		if e < 0 {
			return len(b)
		}
		end = k + e
	}
	return end
}

// expandedSize counts the values in n with every alias replaced by what it names,
// stopping once the count passes limit. anchors maps names to values as they are
// defined, in document order, as the decoder resolves them.
func expandedSize(n ast.Node, limit int) (count int, at ast.Node) {
	sizes := map[string]int{}
	var walk func(n ast.Node) int
	walk = func(n ast.Node) int {
		if n == nil || count > limit {
			return 0
		}
		var size int
		switch node := n.(type) {
		case *ast.AliasNode:
			size = sizes[node.Value.String()]
			count += size
			if count > limit && at == nil {
				at = node
			}
			return size
		case *ast.AnchorNode:
			before := count
			walk(node.Value)
			size = count - before
			sizes[node.Name.String()] = size
			return size
		case *ast.TagNode:
			return walk(node.Value)
		case *ast.MappingNode:
			count++
			for _, kv := range node.Values {
				walk(kv.Value)
			}
		case *ast.MappingValueNode:
			count++
			walk(node.Value)
		case *ast.SequenceNode:
			count++
			for _, v := range node.Values {
				walk(v)
			}
		default:
			count++
		}
		if count > limit && at == nil {
			at = n
		}
		return size
	}
	walk(n)
	return count, at
}
