package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hoist-dev/hoist/registry"
)

// budget is one registry's request budget as the API shows it. Unknown values are
// left out: no -1, no zero times.
type budget struct {
	Registry string `json:"registry"`
	// Remaining and Limit are the last ratelimit-remaining / ratelimit-limit headers.
	Remaining *int `json:"remaining,omitempty"`
	Limit     *int `json:"limit,omitempty"`
	// WindowSeconds is the headers' w= parameter.
	WindowSeconds float64   `json:"window_seconds,omitzero"`
	Seen          time.Time `json:"seen,omitzero"`
	Reset         time.Time `json:"reset,omitzero"`
	PausedUntil   time.Time `json:"paused_until,omitzero"`
	Failures      int       `json:"failures"`
}

func newBudget(b registry.Budget) budget {
	out := budget{Registry: b.Registry, WindowSeconds: b.Window.Seconds(), Seen: b.Seen, Reset: b.Reset,
		PausedUntil: b.PausedUntil, Failures: b.Failures}
	if b.Remaining >= 0 {
		out.Remaining = &b.Remaining
	}
	if b.Limit >= 0 {
		out.Limit = &b.Limit
	}
	return out
}

func (s *Server) registries(c echo.Context) error {
	out := []budget{}
	if s.budget != nil {
		for _, b := range s.budget.Budget() {
			out = append(out, newBudget(b))
		}
	}
	return c.JSON(http.StatusOK, out)
}
