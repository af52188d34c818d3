package problem

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// TypePrefix prefixes every problem's type: the URI names the kind of problem and is
// stable; it is an identifier, nothing is fetched from it.
const TypePrefix = "https://hoist.dev/problems/"

// ContentType is the media type of every error answer (RFC 9457).
const ContentType = "application/problem+json"

// Problem is the body of every error answer. Title is fixed per Type; Detail says what
// happened.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// New is the problem of kind slug (titles.go) answered with status; detail is hoist's
// own words.
func New(status int, slug, detail string) *Problem {
	return &Problem{Type: TypePrefix + slug, Title: titles[slug], Status: status, Detail: detail}
}

// Write answers p as application/problem+json; a HEAD request gets the status and
// headers without the body.
func Write(c echo.Context, p *Problem) error {
	c.Response().Header().Set(echo.HeaderContentType, ContentType)
	if c.Request().Method == http.MethodHead {
		return c.NoContent(p.Status)
	}
	return c.JSON(p.Status, p)
}
