package composefile

import (
	"strings"
)

// expr is an image value that uses one variable: prefix + ${name...} + suffix.
type expr struct {
	prefix, suffix string // literal text around the variable, $$ unescaped
	name           string
	hasDefault     bool   // ${name:-def} or ${name-def}
	emptyDefault   bool   // the :- form: an empty value takes the default too
	def            string // the default as written
	defStart       int    // byte offset of the default in the raw value
}

// parseValue splits a raw image value. It returns the literal value when it uses no
// variable, or the one variable it uses.
func parseValue(file, raw string) (string, *expr, error) {
	var lit strings.Builder
	var e *expr
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '$' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(raw) && raw[i+1] == '$' {
			lit.WriteByte('$')
			i++
			continue
		}
		if e != nil {
			return "", nil, fail(Unsupported, file, "image %q uses several variables", raw)
		}
		next, v, err := parseVar(file, raw, i)
		if err != nil {
			return "", nil, err
		}
		v.prefix = lit.String()
		lit.Reset()
		e, i = v, next-1
	}
	if e == nil {
		return lit.String(), nil, nil
	}
	e.suffix = lit.String()
	return "", e, nil
}

// parseVar reads the variable at raw[i] ('$') and returns the offset after it.
func parseVar(file, raw string, i int) (int, *expr, error) {
	if i+1 < len(raw) && raw[i+1] != '{' {
		j := i + 1
		for j < len(raw) && isNameByte(raw[j], j == i+1) {
			j++
		}
		if j == i+1 {
			return 0, nil, fail(Unsupported, file, "image %q: a lone $ (write $$ for a literal $)", raw)
		}
		return j, &expr{name: raw[i+1 : j]}, nil
	}
	end := strings.IndexByte(raw[i:], '}')
	if i+1 >= len(raw) || end < 0 {
		return 0, nil, fail(Unsupported, file, "image %q: unterminated ${", raw)
	}
	body, start := raw[i+2:i+end], i+2
	j := 0
	for j < len(body) && isNameByte(body[j], j == 0) {
		j++
	}
	e := &expr{name: body[:j]}
	rest := body[j:]
	switch {
	case e.name == "" || strings.Contains(rest, "$"):
		return 0, nil, fail(Unsupported, file, "image %q: variable form not edited", raw)
	case rest == "" || strings.HasPrefix(rest, ":?") || strings.HasPrefix(rest, "?"):
	case strings.HasPrefix(rest, ":-"):
		e.hasDefault, e.emptyDefault, e.def, e.defStart = true, true, rest[2:], start+j+2
	case strings.HasPrefix(rest, "-"):
		e.hasDefault, e.def, e.defStart = true, rest[1:], start+j+1
	default:
		return 0, nil, fail(Unsupported, file, "image %q: variable form %q not edited", raw, rest)
	}
	return i + end + 1, e, nil
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// envEntry is a variable's last definition in a .env file.
type envEntry struct {
	value      string
	start, end int  // byte span of the value as written (inside quotes)
	quote      byte // 0, '"' or '\''
}

// parseEnv reads KEY=VALUE lines (optional `export `, # comments, quoted values) and
// returns each key's last definition.
func parseEnv(data []byte) map[string]envEntry {
	out := map[string]envEntry{}
	off := 0
	for _, line := range strings.SplitAfter(string(data), "\n") {
		base := off
		off += len(line)
		trimmed := strings.TrimRight(line, "\r\n")
		body := strings.TrimLeft(trimmed, " \t")
		if rest, ok := strings.CutPrefix(body, "export "); ok {
			body = strings.TrimLeft(rest, " \t")
		}
		lead := len(trimmed) - len(body)
		if body == "" || body[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(body, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			continue
		}
		vstart := base + lead + len(body) - len(val)
		out[key] = envValue(val, vstart)
	}
	return out
}

// envValue reads a value that starts at byte offset at of the file.
func envValue(val string, at int) envEntry {
	trimmed := strings.TrimLeft(val, " \t")
	at += len(val) - len(trimmed)
	if trimmed != "" && (trimmed[0] == '"' || trimmed[0] == '\'') {
		q := trimmed[0]
		if end := strings.IndexByte(trimmed[1:], q); end >= 0 {
			return envEntry{value: trimmed[1 : 1+end], start: at + 1, end: at + 1 + end, quote: q}
		}
	}
	v := trimmed
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimRight(v, " \t")
	return envEntry{value: v, start: at, end: at + len(v)}
}
