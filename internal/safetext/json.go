package safetext

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// JSON returns a JSON text with the unsafe characters its strings hold as they are
// written \uXXXX, and bytes that are not UTF-8 as \ufffd. JSON encoders escape C0
// controls already but leave DEL, C1 and the bidi characters raw; outside strings JSON
// has only ASCII, so the result decodes to exactly what b did (invalid bytes aside).
// The bytes are b's own when nothing needs escaping.
func JSON(b []byte) []byte {
	i := firstUnsafe(b)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case r >= 0x7f && unsafe(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// firstUnsafe is the offset of the first byte JSON must rewrite, or -1.
func firstUnsafe(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || unsafe(r) {
			return i
		}
		i += n
	}
	return -1
}

// JSONWriter passes each write (one JSON document or log line, as zerolog writes
// them) through [JSON] to W.
type JSONWriter struct{ W io.Writer }

// Write writes JSON(p) and reports p as written whole when that succeeded.
func (w JSONWriter) Write(p []byte) (int, error) {
	if _, err := w.W.Write(JSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
