package api

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The contract test checks bodies against the OpenAPI document with this checker of
// the JSON Schema subset the document uses: $ref, allOf, type, const, enum,
// properties, required, additionalProperties, items, pattern, minLength, maxLength,
// minimum, maximum and format date-time. A keyword outside the subset is an error,
// so the document cannot say more than is checked.

var knownKeywords = map[string]bool{
	"$ref": true, "allOf": true, "type": true, "const": true, "enum": true, "properties": true, "required": true,
	"additionalProperties": true, "items": true, "pattern": true, "minLength": true, "maxLength": true,
	"minimum": true, "maximum": true, "format": true, "description": true, "default": true,
}

type schemaChecker struct{ doc map[string]any }

// resolve follows a local $ref ("#/components/...").
func (sc schemaChecker) resolve(ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = sc.doc
	for _, p := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %s is not an object", ref, p)
		}
		if cur, ok = m[p]; !ok {
			return nil, fmt.Errorf("$ref %q: no %s", ref, p)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q is not an object", ref)
	}
	return m, nil
}

// check returns every way v (decoded JSON) breaks schema s, each with its location.
func (sc schemaChecker) check(s map[string]any, v any, at string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for k := range s {
		if !knownKeywords[k] {
			bad("schema keyword %q is not checked", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		r, err := sc.resolve(ref)
		if err != nil {
			bad("%v", err)
			return errs
		}
		errs = append(errs, sc.check(r, v, at)...)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, sc.check(sub.(map[string]any), v, at)...)
		}
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return isType(v, t) }) {
			bad("%s, want type %v", jsonKind(v), types)
			return errs
		}
	}
	if c, ok := s["const"]; ok && !jsonEqual(c, v) {
		bad("%v, want %v", v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return jsonEqual(x, v) }) {
		bad("%v is not one of %v", v, e)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := v[r]; !ok {
				bad("required %q missing", r)
			}
		}
		for k, x := range v {
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, sc.check(p, x, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap && !sc.declaredElsewhere(s, k) {
					bad("property %q is not in the document", k)
				}
			case map[string]any:
				errs = append(errs, sc.check(ap, x, at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, sc.check(items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			bad("%.40q does not match %s", v, p)
		}
		if n, ok := s["minLength"].(float64); ok && utf8.RuneCountInString(v) < int(n) {
			bad("shorter than %v", n)
		}
		if n, ok := s["maxLength"].(float64); ok && utf8.RuneCountInString(v) > int(n) {
			bad("longer than %v", n)
		}
		if s["format"] == "date-time" {
			if tm, err := time.Parse(time.RFC3339Nano, v); err != nil || tm.IsZero() || tm.Year() < 2000 {
				bad("%q is not a real date-time", v)
			}
		}
	case float64:
		if n, ok := s["minimum"].(float64); ok && v < n {
			bad("%v < minimum %v", v, n)
		}
		if n, ok := s["maximum"].(float64); ok && v > n {
			bad("%v > maximum %v", v, n)
		}
	}
	return errs
}

// declaredElsewhere: with allOf, a property may be declared by a sibling of the
// object that forbids additional ones; the document uses additionalProperties: false
// only on schemas that stand alone, so nothing is declared elsewhere.
func (sc schemaChecker) declaredElsewhere(map[string]any, string) bool { return false }

func isType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return false
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func asStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, x.(string))
		}
	}
	return out
}
