package config

import (
	"bytes"

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
