package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
)

// ${VAR} substitution.
//
// Values never become YAML text where a string is expected: each reference is first
// replaced by a placeholder (a plain word YAML reads as a string and that keeps every
// line where it was), the file is parsed and decoded, and then the placeholders in
// decoded strings are replaced by the values. So a secret holding "#", quotes, ": ",
// "&", "!!binary", "null" or "0x1F" arrives exactly as it is, and cannot add keys to
// the file. Where the field is a number, boolean, duration or size, the value goes
// into the text and must be one plain word (8, true, 30s, 1MiB). Values with a line
// break or another control character are refused: no field takes one, and a stray
// trailing newline in a secret is a mistake better reported than kept. The forms a
// reference may take are in envref.go.

type envRefs struct {
	marks envMarks
	refs  []envUse
}

type envUse struct {
	name, ref, value string
	form             envForm
	arg              string // the default or the message
	line             int
	path             string // the YAML path of the value it is in, once located
	used             bool   // appears in a scalar (not only in a comment)
}

func (e *envRefs) placeholder(i int) string { return e.marks.placeholder(i) }

// substituteEnv replaces every reference with a placeholder, line by line, and every
// $${ with ${.
func substituteEnv(data []byte, getenv func(string) string) ([]byte, *envRefs) {
	e := &envRefs{}
	if !bytes.Contains(data, []byte("${")) {
		return data, e
	}
	e.marks = newEnvMarks(data)
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = envRef.ReplaceAllStringFunc(l, func(m string) string {
			if strings.HasPrefix(m, "$$") {
				return m[1:] // escaped: a literal ${…}
			}
			name, form, arg := parseRef(m[2 : len(m)-1])
			u := envUse{name: name, ref: m, form: form, arg: arg, line: i + 1}
			if form != envBad {
				u.value = getenv(name)
			}
			if u.value == "" && form == envDefault {
				u.value = arg
			}
			e.refs = append(e.refs, u)
			return e.placeholder(len(e.refs) - 1)
		})
	}
	return []byte(strings.Join(lines, "\n")), e
}

func (e *envRefs) each(s string, f func(i int, u *envUse)) {
	if e.marks.re == nil {
		return
	}
	for _, m := range e.marks.re.FindAllString(s, -1) {
		if i := e.marks.index(m); i >= 0 && i < len(e.refs) {
			f(i, &e.refs[i])
		}
	}
}

// markUsed records which references are outside comments; only those must be set.
func (e *envRefs) markUsed(text []byte) {
	if len(e.refs) == 0 {
		return
	}
	for _, tk := range lexer.Tokenize(string(text)) {
		if tk.Type == token.CommentType {
			continue
		}
		e.each(tk.Value, func(_ int, u *envUse) { u.used = true })
	}
}

// problems reports references to unset variables, references hoist does not read,
// and values no field can take, each at its key when it was located.
func (e *envRefs) problems(add func(int, string, string, ...any)) {
	for _, u := range e.refs {
		switch {
		case !u.used:
		case u.form == envBad:
			add(u.line, u.path, "%s", badRefHint(u.ref))
		case u.value == "" && u.form == envRequired && u.arg != "":
			add(u.line, u.path, "environment variable %s is not set: %s", u.name, clipped(u.arg))
		case u.value == "" && u.form != envDefault:
			add(u.line, u.path, "environment variable %s is not set (referenced as %s)", u.name, clipped(u.ref))
		case strings.ContainsFunc(u.value, unicode.IsControl):
			add(u.line, u.path, "environment variable %s contains a line break or another control character; values must be one line (a trailing newline often comes from a file: strip it, e.g. with tr -d '\\n')", u.name)
		}
	}
}

// locate records the YAML path of the value each reference is in (a reference in a
// mapping key gets the mapping's path).
func (e *envRefs) locate(n ast.Node, path string) {
	if len(e.refs) == 0 || n == nil {
		return
	}
	switch node := unwrap(n).(type) {
	case *ast.MappingNode:
		for _, kv := range node.Values {
			e.locateKV(kv, path)
		}
	case *ast.MappingValueNode:
		e.locateKV(node, path)
	case *ast.SequenceNode:
		for i, v := range node.Values {
			e.locate(v, fmt.Sprintf("%s[%d]", path, i))
		}
	case *ast.AliasNode, nil:
	default:
		if tk := node.GetToken(); tk != nil {
			e.each(tk.Value, func(_ int, u *envUse) { u.path = path })
		}
	}
}

func (e *envRefs) locateKV(kv *ast.MappingValueNode, path string) {
	key := kv.Key.String()
	e.each(key, func(_ int, u *envUse) { u.path = path })
	e.locate(kv.Value, path+"."+e.refText(key))
}

// refText writes the placeholders in s back as the references they stand for.
func (e *envRefs) refText(s string) string {
	if e.marks.re == nil {
		return s
	}
	return e.marks.re.ReplaceAllStringFunc(s, func(m string) string {
		if i := e.marks.index(m); i >= 0 && i < len(e.refs) {
			return e.refs[i].ref
		}
		return m
	})
}

// inlineNonStrings puts the values of references that sit in number, boolean,
// duration or size fields into the text, where YAML has to read them.
func (e *envRefs) inlineNonStrings(text []byte, root ast.Node, add func(int, string, string, ...any)) []byte {
	if len(e.refs) == 0 || root == nil {
		return text
	}
	s := string(text)
	walkScalars(root, reflect.TypeOf(Config{}), "$", func(n ast.Node, t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.String || t.Kind() == reflect.Interface {
			return
		}
		e.each(n.GetToken().Value, func(i int, u *envUse) {
			v := u.value
			if v != "" && !plainWord(v) {
				add(u.line, path, "environment variable %s must be one plain word here (a number, true/false, or a duration or size such as 30s or 1MiB)", u.name)
				v = "" // reported; never parse the value as YAML
			}
			if v == "" {
				v = "null" // unset or refused (both reported): leave the field empty
			}
			s = strings.Replace(s, e.placeholder(i), v, 1)
		})
	})
	return []byte(s)
}

// plainWord is a value YAML reads as one plain scalar, whatever the context.
func plainWord(v string) bool {
	for i, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
		case (r == '-' || r == '+') && (i == 0 || v[i-1] == 'e' || v[i-1] == 'E'):
		default:
			return false
		}
	}
	return v != ""
}

// walkScalars calls f for every scalar value in n with the Go type it decodes into.
func walkScalars(n ast.Node, t reflect.Type, path string, f func(ast.Node, reflect.Type, string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch node := n.(type) {
	case *ast.MappingNode:
		walkMapping(node.Values, t, path, f)
	case *ast.MappingValueNode:
		walkMapping([]*ast.MappingValueNode{node}, t, path, f)
	case *ast.SequenceNode:
		if t.Kind() != reflect.Slice {
			return
		}
		for i, v := range node.Values {
			walkScalars(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case *ast.TagNode, *ast.AnchorNode, *ast.AliasNode, *ast.CommentGroupNode:
		if t.Kind() != reflect.Struct && t.Kind() != reflect.Map && t.Kind() != reflect.Slice {
			f(n, t, path)
		}
	default:
		if ownSyntax(t) || t.Kind() != reflect.Struct && t.Kind() != reflect.Map && t.Kind() != reflect.Slice {
			f(n, t, path)
		}
	}
}

// ownSyntax reports whether t reads itself from one scalar (history.keep is a struct
// written as 1000 or 90d).
func ownSyntax(t reflect.Type) bool {
	_, ok := reflect.New(t).Interface().(bytesUnmarshaler)
	return ok
}

func walkMapping(kvs []*ast.MappingValueNode, t reflect.Type, path string, f func(ast.Node, reflect.Type, string)) {
	switch t.Kind() {
	case reflect.Map:
		for _, kv := range kvs {
			walkScalars(kv.Value, t.Elem(), path+"."+kv.Key.String(), f)
		}
	case reflect.Struct:
		fields := yamlFields(t)
		for _, kv := range kvs {
			if ft, ok := fields[kv.Key.String()]; ok {
				walkScalars(kv.Value, ft, path+"."+kv.Key.String(), f)
			}
		}
	}
}

// replaceStrings swaps the placeholders left in decoded strings (map keys included)
// for the values.
func (e *envRefs) replaceStrings(v reflect.Value) {
	if len(e.refs) == 0 {
		return
	}
	fill := func(s string) string {
		return e.marks.re.ReplaceAllStringFunc(s, func(m string) string {
			if i := e.marks.index(m); i >= 0 && i < len(e.refs) {
				return e.refs[i].value
			}
			return m
		})
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
				return
			}
			for _, k := range v.MapKeys() {
				val := v.MapIndex(k)
				nk := reflect.ValueOf(fill(k.String())).Convert(k.Type())
				nv := reflect.ValueOf(fill(val.String())).Convert(val.Type())
				v.SetMapIndex(k, reflect.Value{})
				v.SetMapIndex(nk, nv)
			}
		case reflect.String:
			if v.CanSet() {
				v.SetString(fill(v.String()))
			}
		}
	}
	walk(v)
}
