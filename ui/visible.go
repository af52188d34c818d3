package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Text from outside hoist — workload names and images from the engine, reasons that
// quote registries, the log tails of failed containers — reaches the page, which
// shows it as text (never as HTML). Characters that would still mislead there are
// shown as visible escapes instead: C0 and C1 controls and DEL (`\x1b`, `\x85`) and
// the bidirectional controls that reorder what follows them (`\u202e`). Line feeds
// and tabs stay as they are in log tails, the one place that is shown as lines.

// logKeys name the JSON fields that hold log tails.
var logKeys = map[string]bool{"logs": true}

// hidden reports a character shown as an escape; inLog keeps \n and \t.
func hidden(r rune, inLog bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !inLog
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// visible returns s with each hidden character written as an escape.
func visible(s string, inLog bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return hidden(r, inLog) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !hidden(r, inLog):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// visibleJSON marshals v with every string in it made visible.
func visibleJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || !mayHide(b) {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("re-read the answer: %w", err)
	}
	return json.Marshal(visibleValue(doc, false))
}

// mayHide is a quick look at encoded JSON for anything hidden could be true of: an
// escaped control (\u00xx, \b, \f, \n, \r, \t), DEL, or the UTF-8 lead bytes of C1
// controls (0xc2) and of the bidi controls (0xe2).
func mayHide(b []byte) bool {
	return bytes.Contains(b, []byte(`\u00`)) || bytes.ContainsAny(b, "\x7f\xc2\xe2") ||
		bytes.Contains(b, []byte(`\b`)) || bytes.Contains(b, []byte(`\f`)) ||
		bytes.Contains(b, []byte(`\n`)) || bytes.Contains(b, []byte(`\r`)) || bytes.Contains(b, []byte(`\t`))
}

func visibleValue(v any, inLog bool) any {
	switch x := v.(type) {
	case string:
		return visible(x, inLog)
	case []any:
		for i := range x {
			x[i] = visibleValue(x[i], inLog)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[visible(k, false)] = visibleValue(val, logKeys[k])
		}
		return out
	}
	return v
}
