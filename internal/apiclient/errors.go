package apiclient

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/internal/problem"
	"github.com/hoist-dev/hoist/internal/safetext"
)

// NoServerError means nothing answered at the address: no hoist serve runs there.
type NoServerError struct {
	URL string
	Err error
}

func (e *NoServerError) Error() string {
	return fmt.Sprintf("no hoist answered at %s: %v", e.URL, e.Err)
}

func (e *NoServerError) Unwrap() error { return e.Err }

// TokenRefusedError means a server answered and refused the API token (401 or 403).
type TokenRefusedError struct {
	URL    string
	Answer *AnswerError
}

func (e *TokenRefusedError) Error() string {
	return fmt.Sprintf("the running hoist at %s refused the API token: %s; api.token must be the one hoist serve was started with",
		e.URL, e.Answer)
}

// AnswerError is an answer outside 2xx: the problem the server sent (RFC 9457), or
// its text when it sent none.
type AnswerError struct {
	Status  int
	Problem problem.Problem // Type, Title and Detail as sent; empty when the body was none
	Text    string          // the body, on one line and cut, when it was no problem
}

func (e *AnswerError) Error() string {
	msg := e.Text
	switch p := e.Problem; {
	case p.Title != "" && p.Detail != "":
		msg = p.Title + ": " + p.Detail
	case p.Title != "" || p.Detail != "":
		msg = p.Title + p.Detail
	}
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// answerOf reads an error answer's body: a problem's title and detail, shown safe on a
// terminal, or its text.
func answerOf(status int, b []byte) *AnswerError {
	e := &AnswerError{Status: status}
	var p problem.Problem
	if json.Unmarshal(b, &p) == nil && (p.Title != "" || p.Detail != "") {
		e.Problem = problem.Problem{Type: p.Type, Title: oneLine(p.Title), Status: p.Status, Detail: oneLine(p.Detail)}
		return e
	}
	e.Text = oneLine(string(b))
	return e
}

// oneLine keeps what a server said on one line, safe on a terminal, and bounded.
func oneLine(s string) string {
	s = safetext.Line(strings.Join(strings.Fields(s), " "))
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:297], "") + "..."
	}
	return s
}
