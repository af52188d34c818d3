package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestHostileHTTP: HEAD where GET is served, a problem for oversized headers and for a
// handler's panic, on a router the API is registered on.
func TestHostileHTTP(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(new(strings.Builder))
	New(context.Background(), nil, "", NewMetrics()).Register(e)
	e.GET("/boom", func(echo.Context) error { panic("boom") })
	cases := []struct {
		name, method, path string
		header             string // X-Big of this size
		status             int
		body               bool // GET-like: a body; HEAD: none
		problem            bool
	}{
		{"GET /healthz", http.MethodGet, "/healthz", "", 200, true, false},
		{"HEAD /healthz", http.MethodHead, "/healthz", "", 200, false, false},
		{"HEAD /metrics", http.MethodHead, "/metrics", "", 200, false, false},
		{"HEAD of no route", http.MethodHead, "/nothing", "", 404, false, true},
		{"POST /healthz", http.MethodPost, "/healthz", "", 405, true, true},
		{"headers of 100 KiB", http.MethodGet, "/healthz", strings.Repeat("a", 100<<10), 431, true, true},
		{"headers just under the limit", http.MethodGet, "/healthz", strings.Repeat("a", 60<<10), 200, true, false},
		{"a handler's panic", http.MethodGet, "/boom", "", 500, true, true},
		{"a handler's panic, HEAD", http.MethodHead, "/boom", "", 500, false, true},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.path, nil)
		if c.header != "" {
			req.Header.Set("X-Big", c.header)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		ct := w.Header().Get("Content-Type")
		if w.Code != c.status || (w.Body.Len() > 0) != c.body || (ct == ContentTypeProblem) != c.problem {
			t.Errorf("%s: %d %q with %d bytes; want %d, body %v, problem %v", c.name, w.Code, ct, w.Body.Len(), c.status, c.body, c.problem)
		}
		if w.Code == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
			t.Errorf("%s: no Allow", c.name)
		}
	}
}
