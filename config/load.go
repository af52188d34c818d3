package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// Path is the YAML path of the value, such as $.policies[0].semver.
	Path string `json:"path,omitempty"`
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, strings.TrimPrefix(p.Path, "$."), p.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, p.Msg)
}

// Problems is every problem found in a file; it is the error Parse returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Parse reads a configuration file's bytes. getenv resolves ${VAR} references: string
// fields get the value verbatim (it is never read as YAML), other fields take it when it
// is one plain word; an unset variable, or a value with a line break, is a problem.
// On failure the error is a Problems listing everything found.
func Parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	var probs Problems
	add := func(line int, path, format string, args ...any) {
		probs = append(probs, Problem{File: file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}

	// ${VAR} substitution (env.go): placeholders now, values after decoding.
	text, env := substituteEnv(data, getenv)
	env.markUsed(text)
	env.problems(add)
	f, err := parser.ParseBytes(text, 0)
	if err != nil {
		add(errLine(err), "", "%s", errMessage(err))
		return nil, probs
	}
	var root ast.Node
	if len(f.Docs) > 0 {
		root = f.Docs[0].Body
	}
	if expanded := env.inlineNonStrings(text, root, add); string(expanded) != string(text) {
		text = expanded
		if f, err = parser.ParseBytes(text, 0); err != nil {
			add(errLine(err), "", "%s", errMessage(err))
			return nil, probs
		}
		root = nil
		if len(f.Docs) > 0 {
			root = f.Docs[0].Body
		}
	}
	if root != nil {
		checkKeys(root, reflect.TypeOf(Config{}), "$", add)
	}

	var cfg Config
	if err := yaml.UnmarshalWithOptions(text, &cfg); err != nil {
		// A value checkKeys already reported (with its line) fails decoding again.
		line := errLine(err)
		reported := slices.ContainsFunc(probs, func(p Problem) bool { return p.Line == line })
		if (line > 0 && !reported) || len(probs) == 0 {
			add(line, "", "%s", errMessage(err))
		}
		return nil, probs
	}
	env.replaceStrings(reflect.ValueOf(&cfg))
	cfg.applyDefaults(func(path string) bool { return lookup(f, path) != nil })

	v := &validator{}
	cfg.validate(v)
	for _, p := range v.problems {
		line := 0
		// Point at the nearest node that exists: the value, or its closest parent.
		for path := p.path; path != "" && line == 0; path = parent(path) {
			if n := lookup(f, path); n != nil {
				line = n.GetToken().Position.Line
			}
		}
		add(line, p.path, "%s", p.msg)
	}
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, probs
	}
	return &cfg, nil
}

func errLine(err error) int {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return ye.GetToken().Position.Line
	}
	return 0
}

func errMessage(err error) string {
	var ye yaml.Error
	if errors.As(err, &ye) {
		return ye.GetMessage()
	}
	return err.Error()
}

func lookup(f *ast.File, path string) ast.Node {
	p, err := yaml.PathString(path)
	if err != nil {
		return nil
	}
	n, err := p.FilterFile(f)
	if err != nil {
		return nil
	}
	return n
}

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i <= 1 {
		return ""
	}
	return path[:i]
}

type bytesUnmarshaler interface{ UnmarshalYAML([]byte) error }

// checkKeys reports every mapping key that t has no field for, recursively.
func checkKeys(n ast.Node, t reflect.Type, path string, add func(int, string, string, ...any)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, null := n.(*ast.NullNode); null {
		return
	}
	// Scalars with their own syntax (durations, sizes, clocks, days) check themselves.
	if u, ok := reflect.New(t).Interface().(bytesUnmarshaler); ok {
		if err := u.UnmarshalYAML([]byte(n.String())); err != nil {
			add(n.GetToken().Position.Line, path, "%s", err.Error())
		}
		return
	}
	if want := scalarMismatch(n, t.Kind()); want != "" {
		add(n.GetToken().Position.Line, path, "%s, not %q", want, strings.Trim(n.String(), `"'`))
		return
	}
	switch node := n.(type) {
	case *ast.MappingNode:
		if t.Kind() == reflect.Map {
			for _, kv := range node.Values {
				checkKeys(kv.Value, t.Elem(), path+"."+kv.Key.String(), add)
			}
			return
		}
		if t.Kind() != reflect.Struct {
			return
		}
		fields := yamlFields(t)
		for _, kv := range node.Values {
			key := kv.Key.String()
			ft, ok := fields[key]
			if !ok {
				msg := fmt.Sprintf("unknown key %q", key)
				if s := closest(key, fields); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else {
					msg += "; allowed here: " + strings.Join(sortedKeys(fields), ", ")
				}
				add(kv.Key.GetToken().Position.Line, path+"."+key, "%s", msg)
				continue
			}
			checkKeys(kv.Value, ft, path+"."+key, add)
		}
	case *ast.SequenceNode:
		if t.Kind() != reflect.Slice {
			return
		}
		for i, v := range node.Values {
			checkKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), add)
		}
	}
}

// scalarMismatch says what to write instead when n cannot decode into a number or
// boolean field; "" when it can (or the field is something else). checkKeys reports
// these itself because decoding stops at the first one.
func scalarMismatch(n ast.Node, k reflect.Kind) string {
	switch n.(type) {
	case *ast.AliasNode, *ast.AnchorNode, *ast.TagNode:
		return "" // left to the decoder
	}
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, ok := n.(*ast.IntegerNode); !ok {
			return "write a whole number such as 8"
		}
	case reflect.Float32, reflect.Float64:
		switch n.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
		default:
			return "write a number such as 20 or 0.5"
		}
	case reflect.Bool:
		if _, ok := n.(*ast.BoolNode); !ok {
			return "write true or false"
		}
	}
	return ""
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		m[name] = f.Type
	}
	return m
}

func sortedKeys(m map[string]reflect.Type) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// closest returns a known key within edit distance 2 of key, if any.
func closest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for _, k := range sortedKeys(fields) {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
