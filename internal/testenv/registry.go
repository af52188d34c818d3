package testenv

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// Registry is an in-process registry listening on 127.0.0.1, reachable by the engine
// over plain HTTP. It counts requests by kind for assertions.
type Registry struct {
	// Host is "127.0.0.1:port".
	Host string
	srv  *httptest.Server

	heads, gets, pings, others atomic.Int64
}

// NewRegistry starts a registry of the test's own for the life of the test: for a test
// that counts its requests or changes how it answers (Shared has one for the others).
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	r := startRegistry()
	t.Cleanup(r.srv.Close)
	return r
}

// startRegistry starts a registry; it serves until it is closed.
func startRegistry() *Registry {
	r := &Registry{}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true))
	r.srv = httptest.NewServer(r.counting(h))
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// counting counts each request by kind, then hands it to h.
func (r *Registry) counting(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.URL.Path == "/v2/" || req.URL.Path == "/v2":
			r.pings.Add(1)
		case req.Method == http.MethodHead && strings.Contains(req.URL.Path, "/manifests/"):
			r.heads.Add(1)
		case req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/"):
			r.gets.Add(1)
		default:
			r.others.Add(1)
		}
		h.ServeHTTP(w, req)
	})
}

// Counts returns manifest HEADs, manifest GETs (pulls), pings and other requests so far.
func (r *Registry) Counts() (heads, gets, pings, others int64) {
	return r.heads.Load(), r.gets.Load(), r.pings.Load(), r.others.Load()
}
