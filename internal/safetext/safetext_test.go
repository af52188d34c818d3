package safetext

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestLineAndText(t *testing.T) {
	for _, tc := range []struct {
		name, in, line, text string
	}{
		{"plain", "service/web", "service/web", "service/web"},
		{"empty", "", "", ""},
		{"unicode letters stay", "café ☕ 日本", "café ☕ 日本", "café ☕ 日本"},
		{"escape sequence", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`, `\x1b[31mred\x1b[0m`},
		{"clear screen and title", "\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`, `\x1b[2J\x1b]0;pwned\x07`},
		{"NUL", "a\x00b", `a\x00b`, `a\x00b`},
		{"DEL", "a\x7fb", `a\x7fb`, `a\x7fb`},
		{"C1 CSI", "a\u009b31mb", `a\u009b31mb`, `a\u009b31mb`},
		{"right-to-left override", "evil\u202etxt.exe", `evil\u202etxt.exe`, `evil\u202etxt.exe`},
		{"bidi isolates", "\u2066a\u2069\u2067b\u2068c", `\u2066a\u2069\u2067b\u2068c`, `\u2066a\u2069\u2067b\u2068c`},
		{"marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`, `\u200e\u200f\u061c`},
		{"line separators", "a\u2028b\u2029c", `a\u2028b\u2029c`, `a\u2028b\u2029c`},
		{"newline and tab", "line 1\n\tline 2", `line 1\n\tline 2`, "line 1\n\tline 2"},
		{"carriage return", "ok\rFAILED", `ok\rFAILED`, `ok\rFAILED`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`, `a\xffb\xc3`},
		{"backslash stays", `C:\dir\x`, `C:\dir\x`, `C:\dir\x`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Line(tc.in); got != tc.line {
				t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.line)
			}
			if got := Text(tc.in); got != tc.text {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.text)
			}
			if IsSafe(tc.in) != (tc.in == tc.line) {
				t.Errorf("IsSafe(%q) = %v", tc.in, IsSafe(tc.in))
			}
		})
	}
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string // what JSON writes
	}{
		{"plain", map[string]string{"a": "b"}, `{"a":"b"}`},
		{"C0 escaped by the encoder already", "\x1b[2J", `"\u001b[2J"`},
		{"DEL", "a\x7f", `"a\u007f"`},
		{"C1", "a\u009b", `"a\u009b"`},
		{"bidi", "x\u202ey\u2066", `"x\u202ey\u2066"`},
		{"letters stay", "café", `"café"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got := JSON(b)
			if string(got) != tc.want {
				t.Fatalf("JSON(%s) = %s, want %s", b, got, tc.want)
			}
			// What it says is unchanged.
			var before, after any
			json.Unmarshal(b, &before)
			if err := json.Unmarshal(got, &after); err != nil {
				t.Fatalf("not JSON any more: %v", err)
			}
			if !jsonEqual(before, after) {
				t.Errorf("decodes to %v, was %v", after, before)
			}
		})
	}
	if got := JSON([]byte("\"a\xffb\"")); string(got) != `"a\ufffdb"` {
		t.Errorf("invalid UTF-8: %s", got)
	}
	var buf bytes.Buffer
	n, err := JSONWriter{W: &buf}.Write([]byte("{\"m\":\"\u202e\"}\n"))
	if err != nil || n != len("{\"m\":\"\u202e\"}\n") || buf.String() != "{\"m\":\"\\u202e\"}\n" {
		t.Errorf("JSONWriter: %d %v %q", n, err, buf.String())
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
