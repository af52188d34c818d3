package webhook

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
)

// benchServer is a server whose clock moves two minutes per request, so that every
// request clears both coalescing and (after the ring of ids comes round) dedupe, and
// the whole accept path runs: read, authenticate, rate-limit, parse, enqueue, 202.
func benchServer(b *testing.B) (*echo.Echo, *Server) {
	cfg := allSources()
	cfg.Limits = config.WebhookLimits{Rate: 1e9, Burst: 1 << 30}
	e := echo.New()
	s := New(cfg, &fakeSink{watched: true}, zerolog.Nop())
	t := time.Now()
	s.now = func() time.Time { t = t.Add(2 * time.Minute); return t }
	s.Register(e)
	return e, s
}

func distBodies(n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = []byte(fmt.Sprintf(`{"events":[{"id":"6f0e1b2c-%08d","timestamp":"2024-05-01T10:00:00.123Z","action":"push",`+
			`"target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":1234,"length":1234,`+
			`"repository":"team/app","url":"https://registry.example.com/v2/team/app/manifests/sha256:%064d","tag":"v1.2.3"},`+
			`"request":{"id":"r","addr":"10.0.0.5:4242","host":"registry.example.com","method":"PUT","useragent":"docker/26.1.0"},`+
			`"actor":{"name":"ci-bot"},"source":{"addr":"registry-0:5000","instanceID":"i"}}]}`, i, i, i))
	}
	return bodies
}

// BenchmarkAcceptDistribution: an authenticated Distribution notification → 202 and one Enqueue.
func BenchmarkAcceptDistribution(b *testing.B) {
	e, _ := benchServer(b)
	bodies := distBodies(1024)
	rd := bytes.NewReader(nil)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/distribution", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v2+json")
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := bodies[i%len(bodies)]
		rd.Reset(body)
		r.Body, r.ContentLength = readCloser{rd}, int64(len(body))
		w.reset()
		e.ServeHTTP(w, r)
		if w.code != http.StatusAccepted {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkAcceptGHCRSigned: the same for an HMAC-signed 4 KB GitHub package event.
func BenchmarkAcceptGHCRSigned(b *testing.B) {
	e, _ := benchServer(b)
	body := fixture(b, "ghcr", "package-published")
	sig := "sha256=" + sign(secret, body)
	rd := bytes.NewReader(nil)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/ghcr", nil)
	r.Header.Set("X-Hub-Signature-256", sig)
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rd.Reset(body)
		r.Body, r.ContentLength = readCloser{rd}, int64(len(body))
		w.reset()
		e.ServeHTTP(w, r)
		if w.code != http.StatusAccepted {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkRejectBadToken: the cost of an unauthenticated request.
func BenchmarkRejectBadToken(b *testing.B) {
	e, _ := benchServer(b)
	body := distBodies(1)[0]
	rd := bytes.NewReader(nil)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/distribution", nil)
	r.Header.Set("Authorization", "Bearer nope")
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rd.Reset(body)
		r.Body, r.ContentLength = readCloser{rd}, int64(len(body))
		w.reset()
		e.ServeHTTP(w, r)
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// benchWriter is a ResponseWriter that can be reused, so the benchmark counts the
// handler's allocations and not the recorder's.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) reset()                      { clear(w.h); w.code = 0 }
