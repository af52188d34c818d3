package config

import (
	"reflect"
	"strings"
	"unicode"
)

// Every string in the file (names, globs, labels, hosts, paths…) must print: a control
// character, an escape sequence or a bidi override in a policy name would reach the
// terminal, the logs and the dashboard with it, or make two names look alike. Only a
// notification template may hold line breaks and tabs; secrets are not looked at (they
// are never shown).

// printableProblem returns the first character of s that does not print, and whether
// there is one. allowBreaks lets line breaks and tabs pass.
func printableProblem(s string, allowBreaks bool) (rune, bool) {
	for _, r := range s {
		if allowBreaks && (r == '\n' || r == '\t') {
			continue
		}
		if !unicode.IsPrint(r) {
			return r, true
		}
	}
	return 0, false
}

var secretType = reflect.TypeOf(Secret(""))

// validatePrintable reports each string of c that holds a character that does not
// print, at its path.
func (c *Config) validatePrintable(v *validator) {
	walkStrings(reflect.ValueOf(c).Elem(), "$", func(path, s string, breaks bool) {
		if r, bad := printableProblem(s, breaks); bad {
			v.addf(path, "%q holds a character that does not print (%U); write the value without it", s, r)
		}
	})
}

// walkStrings calls f for every string in v (map keys included) with its YAML path.
func walkStrings(v reflect.Value, path string, f func(path, s string, breaks bool)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			field := v.Type().Field(i)
			name := strings.Split(field.Tag.Get("yaml"), ",")[0]
			if !field.IsExported() || name == "" || name == "-" || field.Type == secretType {
				continue
			}
			if v.Type() == reflect.TypeOf(Notify{}) && name == "template" {
				f(path+".template", v.Field(i).String(), true)
				continue
			}
			walkStrings(v.Field(i), path+"."+name, f)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), pathf("%s[%d]", path, i), f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if k.Kind() == reflect.String {
				f(path, k.String(), false)
				walkStrings(v.MapIndex(k), path+"."+k.String(), f)
			}
		}
	case reflect.String:
		if v.Type() != secretType {
			f(path, v.String(), false)
		}
	}
}
