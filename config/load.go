package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
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

// Parse is [Load] with the default [Limits] and no deadline.
func Parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	return Load(context.Background(), file, data, getenv, Limits{})
}

// utf8BOM is the byte order mark some Windows editors put at the start of a file.
var utf8BOM = []byte("\ufeff")

// Load reads a configuration file's bytes: one YAML document, with or without a UTF-8
// byte order mark, within lim. getenv resolves ${VAR} references: string fields get
// the value verbatim (it is never read as YAML), other fields take it when it is one
// plain word; an unset variable, or a value with a line break, is a problem. Load
// stops with ctx's error when ctx ends. On a bad file the error is a Problems listing
// everything found.
func Load(ctx context.Context, file string, data []byte, getenv func(string) string, lim Limits) (*Config, error) {
	lim = lim.withDefaults()
	var probs Problems
	add := func(line int, path, format string, args ...any) {
		p, more := cut(path, 2*clipAt)
		probs = append(probs, Problem{File: file, Line: line, Path: p + more, Msg: clipMsg(fmt.Sprintf(format, args...))})
	}
	if int64(len(data)) > lim.MaxSize {
		add(0, "", "the file is %s, more than the %s a configuration may be", byteCount(int64(len(data))), byteCount(lim.MaxSize))
		return nil, probs
	}
	data = bytes.TrimPrefix(data, utf8BOM)

	// ${VAR} substitution (env.go): placeholders now, values after decoding.
	text, env := substituteEnv(data, getenv)
	if line, msg := prescan(text, lim); msg != "" {
		add(line, "", "%s", msg)
		return nil, probs
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	env.markUsed(text)
	f, err := parser.ParseBytes(text, 0)
	if err != nil {
		env.problems(add)
		add(errLine(err), "", "%s", errMessage(err))
		return nil, probs
	}
	root := document(f, add)
	env.locate(root, "$")
	env.problems(add)
	if expanded := env.inlineNonStrings(text, root, add); string(expanded) != string(text) {
		text = expanded
		if f, err = parser.ParseBytes(text, 0); err != nil {
			add(errLine(err), "", "%s", errMessage(err))
			return nil, probs
		}
		root = f.Docs[0].Body
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	if n, at := expandedSize(root, lim.MaxNodes); n > lim.MaxNodes {
		add(at.GetToken().Position.Line, "", "with its aliases (*name) expanded the file holds more than %d values; a hoist configuration needs a few thousand (an alias repeated inside the anchor it repeats multiplies)", lim.MaxNodes)
		return nil, probs
	}
	var cfg Config
	if root != nil {
		anchors := map[string]ast.Node{}
		root = checkKeys(root, reflect.TypeOf(Config{}), "$", anchors, add)
		if root != nil {
			if err := nodeToValue(root, &cfg); err != nil {
				// checkKeys has set aside every value it reported, so this is something else.
				add(errLine(err), "", "%s", errMessage(err))
				return nil, probs
			}
		}
	}
	settle(&cfg, root, env, probs, add)
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, probs
	}
	return &cfg, nil
}

// settle fills in cfg's secrets and defaults, validates it, and reports each problem at
// the line of the nearest node that exists, skipping those under a path already in
// probs (its value was refused, and what it became is no news).
func settle(cfg *Config, root ast.Node, env *envRefs, probs Problems, add func(int, string, string, ...any)) {
	reported := make([]string, 0, len(probs))
	for _, p := range probs {
		if p.Path != "" {
			reported = append(reported, p.Path)
		}
	}
	idx := map[string]ast.Node{}
	if root != nil {
		indexPaths(root, "$", idx)
	}
	env.replaceStrings(reflect.ValueOf(cfg))
	cfg.applyDefaults(func(path string) bool { return idx[path] != nil })

	v := &validator{}
	cfg.validate(v)
	for _, p := range v.problems {
		if slices.ContainsFunc(reported, func(r string) bool { return within(p.path, r) }) {
			continue
		}
		line := 0
		// Point at the nearest node that exists: the value, or its closest parent.
		for path := p.path; path != "" && line == 0; path = parent(path) {
			if n := idx[path]; n != nil {
				line = n.GetToken().Position.Line
			}
		}
		add(line, p.path, "%s", p.msg)
	}
}

// document returns the body of a file's only document and reports any other.
func document(f *ast.File, add func(int, string, string, ...any)) ast.Node {
	if len(f.Docs) == 0 {
		return nil
	}
	for _, d := range f.Docs[1:] {
		line := 0
		switch {
		case d.Start != nil:
			line = d.Start.Position.Line
		case d.Body != nil:
			line = d.Body.GetToken().Position.Line
		}
		add(line, "", "a second YAML document starts here; hoist reads one document per file: remove this --- and what follows, or merge it into the first")
	}
	return f.Docs[0].Body
}

// within reports whether path is at or below at ($.a[0] is within $.a).
func within(path, at string) bool {
	return path == at || strings.HasPrefix(path, at) && (path[len(at)] == '.' || path[len(at)] == '[')
}

// indexPaths records every value under n by the path validation names it with.
func indexPaths(n ast.Node, path string, idx map[string]ast.Node) {
	idx[path] = n
	switch node := unwrap(n).(type) {
	case *ast.MappingNode:
		for _, kv := range node.Values {
			indexPaths(kv.Value, path+"."+kv.Key.String(), idx)
		}
	case *ast.MappingValueNode:
		indexPaths(node.Value, path+"."+node.Key.String(), idx)
	case *ast.SequenceNode:
		for i, v := range node.Values {
			indexPaths(v, path+"["+strconv.Itoa(i)+"]", idx)
		}
	}
}

// unwrap returns the value an anchor or a tag is attached to.
func unwrap(n ast.Node) ast.Node {
	for {
		switch node := n.(type) {
		case *ast.AnchorNode:
			n = node.Value
		case *ast.TagNode:
			n = node.Value
		default:
			return n
		}
	}
}

func byteCount(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
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

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i <= 1 {
		return ""
	}
	return path[:i]
}

type bytesUnmarshaler interface{ UnmarshalYAML([]byte) error }

// checkKeys reports every mapping key that t has no field for, and every value of
// the wrong shape or syntax, recursively. It returns n, or a null in place of a value it
// reported, so that decoding goes on and the rest is validated in the same pass.
// anchors collects anchored values as they are met, to see what an alias stands for.
func checkKeys(n ast.Node, t reflect.Type, path string, anchors map[string]ast.Node, add func(int, string, string, ...any)) ast.Node {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if a, ok := n.(*ast.AnchorNode); ok {
		anchors[a.Name.String()] = a.Value
	}
	v := unwrap(n)
	if _, null := v.(*ast.NullNode); null {
		return n
	}
	refuse := func(format string, args ...any) ast.Node {
		add(n.GetToken().Position.Line, path, format, args...)
		return ast.Null(token.New("null", "null", n.GetToken().Position))
	}
	if a, ok := v.(*ast.AliasNode); ok {
		if want := shapeMismatch(unwrap(anchors[a.Value.String()]), t); want != "" {
			return refuse("%s, not *%s (%s)", want, clipped(a.Value.String()), shapeName(unwrap(anchors[a.Value.String()])))
		}
		return n
	}
	// Scalars with their own syntax (durations, sizes, clocks, days) check themselves.
	if u, ok := reflect.New(t).Interface().(bytesUnmarshaler); ok {
		if err := u.UnmarshalYAML([]byte(v.String())); err != nil {
			return refuse("%s", err.Error())
		}
		return n
	}
	if want := shapeMismatch(v, t); want != "" {
		return refuse("%s, not %s", want, shapeName(v))
	}
	if want := scalarMismatch(v, t.Kind()); want != "" {
		return refuse("%s, not %q", want, clipped(strings.Trim(v.String(), `"'`)))
	}
	switch node := v.(type) {
	case *ast.MappingNode:
		if t.Kind() == reflect.Map {
			for _, kv := range node.Values {
				kv.Value = checkKeys(kv.Value, t.Elem(), path+"."+kv.Key.String(), anchors, add)
			}
			return n
		}
		if t.Kind() != reflect.Struct {
			return n
		}
		checkFields(node.Values, t, path, anchors, add)
	case *ast.MappingValueNode:
		if t.Kind() == reflect.Struct {
			checkFields([]*ast.MappingValueNode{node}, t, path, anchors, add)
		}
	case *ast.SequenceNode:
		if t.Kind() != reflect.Slice {
			return n
		}
		for i, e := range node.Values {
			node.Values[i] = checkKeys(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", anchors, add)
		}
	}
	return n
}

func checkFields(kvs []*ast.MappingValueNode, t reflect.Type, path string, anchors map[string]ast.Node, add func(int, string, string, ...any)) {
	fields := yamlFields(t)
	for _, kv := range kvs {
		key := kv.Key.String()
		if kv.Key.GetToken().Type == token.MergeKeyType {
			kv.Value = checkKeys(kv.Value, t, path, anchors, add)
			continue
		}
		ft, ok := fields[key]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", clipped(key))
			if s := closest(key, fields); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; allowed here: " + strings.Join(sortedKeys(fields), ", ")
			}
			add(kv.Key.GetToken().Position.Line, path+"."+key, "%s", msg)
			continue
		}
		kv.Value = checkKeys(kv.Value, ft, path+"."+key, anchors, add)
	}
}

// shapeMismatch says what to write when n is a list or mapping where t wants one value,
// or the other way round; "" when the shapes agree.
func shapeMismatch(n ast.Node, t reflect.Type) string {
	var isSeq, isMap, isScalar bool
	switch n.(type) {
	case nil, *ast.NullNode, *ast.AliasNode, *ast.CommentGroupNode:
		return ""
	case *ast.SequenceNode:
		isSeq = true
	case *ast.MappingNode, *ast.MappingValueNode:
		isMap = true
	default:
		isScalar = true
	}
	switch t.Kind() {
	case reflect.Slice:
		if !isSeq {
			return "write a list here, such as [a, b] or one \"- item\" per line"
		}
	case reflect.Struct, reflect.Map:
		if !isMap {
			return "write a mapping here (key: value lines)"
		}
	case reflect.Interface:
	default:
		if !isScalar {
			return "write one value here"
		}
	}
	return ""
}

func shapeName(n ast.Node) string {
	switch n.(type) {
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case nil:
		return "an unknown anchor"
	}
	return "a single value"
}

// scalarMismatch says what to write instead when n cannot decode into a number or
// boolean field; "" when it can (or the field is something else). checkKeys reports
// these itself because decoding stops at the first one.
func scalarMismatch(n ast.Node, k reflect.Kind) string {
	switch n.(type) {
	case *ast.AliasNode, *ast.AnchorNode, *ast.TagNode, *ast.NullNode:
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
