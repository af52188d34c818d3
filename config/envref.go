package config

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The forms of a reference, as a shell writes them:
//
//	${VAR}           the value; an unset or empty variable is a problem
//	${VAR:-default}  the value, or default when VAR is unset or empty
//	${VAR:?message}  the value; unset or empty is a problem that says message
//	$${              a literal ${ (nothing is substituted)
//
// Anything else between ${ and } is a problem with a hint, never kept as literal text
// (${TOKEN-x} taken literally would quietly become the token).
var envRef = regexp.MustCompile(`\$?\$\{([^}\n]*)\}`)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envForm is how a reference is written.
type envForm int

const (
	envPlain    envForm = iota // ${VAR}
	envDefault                 // ${VAR:-default}
	envRequired                // ${VAR:?message}
	envBad                     // anything else
)

// parseRef reads what is between ${ and }: the variable's name, the form, and the
// default or message.
func parseRef(inner string) (name string, form envForm, arg string) {
	if envName.MatchString(inner) {
		return inner, envPlain, ""
	}
	i := strings.IndexFunc(inner, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	if i <= 0 || !envName.MatchString(inner[:i]) {
		return "", envBad, ""
	}
	name, rest := inner[:i], inner[i:]
	switch {
	case strings.HasPrefix(rest, ":-") && !strings.Contains(rest, "${"):
		return name, envDefault, rest[2:]
	case strings.HasPrefix(rest, ":?"):
		return name, envRequired, rest[2:]
	}
	return name, envBad, ""
}

// badRefHint says what to write instead of a reference hoist does not read.
func badRefHint(ref string) string {
	return fmt.Sprintf("%s is not a reference hoist reads: write ${VAR}, ${VAR:-default} (when VAR is unset or empty) or ${VAR:?message} (VAR must be set); "+
		"a nested reference is not read; $${ is a literal ${", clipped(ref))
}

// envMarks makes the placeholders of one load. Its marker holds random letters and
// is checked absent from the file, so no text written in the file is ever taken
// for a placeholder (and replaced by a variable's value, a secret perhaps).
type envMarks struct {
	marker string
	re     *regexp.Regexp
}

func newEnvMarks(data []byte) envMarks {
	for {
		var b [8]byte
		rand.Read(b[:])
		m := "HOISTENVREF" + hex.EncodeToString(b[:]) + "N"
		if !strings.Contains(string(data), m) {
			return envMarks{marker: m, re: regexp.MustCompile(m + `([0-9]+)X`)}
		}
	}
}

func (m envMarks) placeholder(i int) string { return m.marker + strconv.Itoa(i) + "X" }

// index returns the reference number of a placeholder the regexp matched, or -1.
func (m envMarks) index(match string) int {
	i, err := strconv.Atoi(match[len(m.marker) : len(match)-1])
	if err != nil {
		return -1
	}
	return i
}
