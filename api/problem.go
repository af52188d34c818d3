package api

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	httpproblem "github.com/hoist-dev/hoist/internal/problem"
)

// ProblemType prefixes every problem's type (problem.TypePrefix).
const ProblemType = httpproblem.TypePrefix

// ContentTypeProblem is the media type of every error answer (RFC 9457).
const ContentTypeProblem = httpproblem.ContentType

// Problem is the body of every error answer, the API's, the dashboard's and the
// webhook receiver's: RFC 9457 problem details (internal/problem). Title is fixed per
// Type; Detail says what happened.
type Problem = httpproblem.Problem

// problem builds the Problem of kind slug; detail is hoist's own words.
func problem(status int, slug, detail string) *Problem {
	return httpproblem.New(status, slug, detail)
}

// maxEcho is how many characters of a client's input a message repeats.
const maxEcho = 80

// cut shortens s, a client's input quoted in a message, to maxEcho characters and "…".
func cut(s string) string {
	if utf8.RuneCountInString(s) <= maxEcho {
		return s
	}
	n := 0
	for i := range s {
		if n == maxEcho {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// ErrorHandler answers every error as application/problem+json. Register installs it
// as the server's error handler, so echo's own answers (no route, wrong method, body
// too large) have the same shape as the handlers'.
func ErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var p *Problem
	var he *echo.HTTPError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &he):
		p = fromEcho(he, c)
	default:
		c.Logger().Error(err)
		p = problem(http.StatusInternalServerError, "internal", "the server could not answer; its log says why")
	}
	writeProblem(c, p)
}

// fromEcho turns echo's own errors (router, middleware) into problems.
func fromEcho(he *echo.HTTPError, c echo.Context) *Problem {
	switch he.Code {
	case http.StatusNotFound:
		return problem(he.Code, "not-found", "no route for "+cut(c.Request().URL.Path))
	case http.StatusMethodNotAllowed:
		return problem(he.Code, "method-not-allowed", c.Request().Method+" is not allowed here; see the Allow header")
	case http.StatusRequestEntityTooLarge:
		return problem(he.Code, "too-large", "the request body is too large")
	case http.StatusUnauthorized:
		return problem(he.Code, "unauthorized", "send Authorization: Bearer <api.token>")
	case http.StatusServiceUnavailable:
		return problem(he.Code, "service-unavailable", http.StatusText(he.Code))
	}
	slug := "internal"
	if he.Code < 500 {
		slug = "bad-request"
	}
	return problem(he.Code, slug, strings.ToLower(http.StatusText(he.Code)))
}

func writeProblem(c echo.Context, p *Problem) {
	httpproblem.Write(c, p)
}
