package config

import (
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// clipAt is how much of a value a message quotes.
const clipAt = 80

// clipped is a value quoted in a message: its first clipAt bytes, then its length,
// so a 10 MB scalar is not echoed whole.
type clipped string

func (c clipped) Format(f fmt.State, verb rune) {
	s, more := cut(string(c), clipAt)
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	io.WriteString(f, s+more)
}

// cut returns s, or its first n bytes (whole runes) and " … (N bytes)".
func cut(s string, n int) (string, string) {
	if len(s) <= n {
		return s, ""
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], fmt.Sprintf("… (%d bytes)", len(s))
}

// clipArgs wraps every string argument in clipped.
func clipArgs(args []any) []any {
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > clipAt {
			args[i] = clipped(s)
		}
	}
	return args
}

// clipMsg bounds a whole message, for text that comes from elsewhere (the YAML
// library's errors, the value types' own messages).
func clipMsg(s string) string {
	s, more := cut(s, 4*clipAt)
	return s + more
}
