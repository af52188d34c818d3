package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// silentRegistry is a TCP listener on 127.0.0.1 that accepts connections and never
// answers: it reads and drops whatever it is sent until the client hangs up.
type silentRegistry struct {
	host     string
	accepted atomic.Int64
}

func newSilentRegistry(t *testing.T) *silentRegistry {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentRegistry{host: l.Addr().String()}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return s
}

// newStuckRegistry answers the ping in full, never answers a HEAD, and answers every
// GET with its headers and the start of a body that never ends.
func newStuckRegistry(t *testing.T) string {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
			w.Write([]byte("{}"))
			return
		case r.Method == http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"name":"app","tags":["v1",`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: no handler outlives the test
	return strings.TrimPrefix(srv.URL, "http://")
}

// wantNoAnswer fails unless err is a retryable registry error that names host and
// says it did not answer within after.
func wantNoAnswer(t *testing.T, what string, err error, host string, after time.Duration) {
	t.Helper()
	var e *Error
	switch {
	case err == nil:
		t.Errorf("%s: no error", what)
	case !errors.As(err, &e) || !IsRetryable(err):
		t.Errorf("%s: %v (%T); want a retryable *Error", what, err, err)
	case errors.Is(err, ErrRateLimited):
		t.Errorf("%s: %v; a registry that does not answer is not rate limiting", what, err)
	case !strings.Contains(err.Error(), "registry "+host+" did not answer within "+after.String()):
		t.Errorf("%s: %v; want it to say that registry %s did not answer within %s", what, err, host, after)
	}
}

// within fails when took is more than limit.
func within(t *testing.T, what string, took, limit time.Duration) {
	t.Helper()
	if took > limit {
		t.Errorf("%s took %s, want at most %s", what, took.Round(time.Millisecond), limit)
	}
}

func refsOn(t *testing.T, host string, n int) []name.Reference {
	t.Helper()
	refs := make([]name.Reference, n)
	for i := range refs {
		refs[i] = mustRef(t, fmt.Sprintf("%s/r%02d:v1", host, i))
	}
	return refs
}

// A registry that accepts the connection and never says a word: the ping (over https,
// then over http: 127.0.0.1 may speak either) times out, and every entry point comes
// back within two deadlines with a retryable error naming the registry.
func TestSilentRegistryTimesOut(t *testing.T) {
	const after = 300 * time.Millisecond
	s := newSilentRegistry(t)
	repo := mustRef(t, s.host+"/app:v1").Context()
	ops := []struct {
		name string
		do   func(c *Client) error
	}{
		{"Resolve", func(c *Client) error { _, err := c.Resolve(t.Context(), repo.Tag("v1")); return err }},
		{"ListTags", func(c *Client) error { _, err := c.ListTags(t.Context(), repo); return err }},
		{"SamePlatforms", func(c *Client) error {
			_, _, err := c.SamePlatforms(t.Context(), repo, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)},
				v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}, nil)
			return err
		}},
	}
	for _, op := range ops {
		c := newTestClient(Options{RequestTimeout: after})
		start := time.Now()
		err := op.do(c)
		took := time.Since(start)
		t.Logf("%s: %s", op.name, took.Round(time.Millisecond))
		within(t, op.name, took, 2*after+500*time.Millisecond)
		wantNoAnswer(t, op.name, err, s.host, after)
	}

	// A registry's own timeout wins over the default.
	c := newTestClient(Options{RequestTimeout: time.Minute, Credentials: []Credential{{Host: s.host, Timeout: 200 * time.Millisecond}}})
	start := time.Now()
	_, err := c.Resolve(t.Context(), repo.Tag("v1"))
	within(t, "Resolve with the registry's timeout", time.Since(start), 2*200*time.Millisecond+500*time.Millisecond)
	wantNoAnswer(t, "Resolve with the registry's timeout", err, s.host, 200*time.Millisecond)
}

// A poll of many references to a silent registry ends in about one deadline, not one
// per reference: the first miss pauses the registry and the others fail at once.
func TestSilentRegistryPollOfMany(t *testing.T) {
	const after, n = 300 * time.Millisecond, 50
	s := newSilentRegistry(t)
	c := newTestClient(Options{RequestTimeout: after})
	start := time.Now()
	got := c.ResolveMany(t.Context(), refsOn(t, s.host, n), 8)
	took := time.Since(start)
	t.Logf("%d references, deadline %s: cycle took %s (one deadline per reference would be %s), %d connections",
		n, after, took.Round(time.Millisecond), n*after, s.accepted.Load())
	within(t, "the cycle", took, 4*after)
	if len(got) != n {
		t.Fatalf("%d results, want %d", len(got), n)
	}
	for k, r := range got {
		if r.Err == nil || !IsRetryable(r.Err) || !strings.Contains(r.Err.Error(), "registry "+s.host+" did not answer within "+after.String()) {
			t.Errorf("%s: %v; want a retryable error saying registry %s did not answer", k, r.Err, s.host)
		}
	}
	if b := c.Budget(); len(b) != 1 || b[0].Failures == 0 || b[0].PausedUntil.IsZero() {
		t.Errorf("Budget() = %+v; want the registry paused after it did not answer", b)
	}
}

// A registry that sends headers and then a body that never ends: the deadline covers
// the body. Resolve (its HEAD never answered once the ping went through), ListTags (a
// tag list cut short) and SamePlatforms (a manifest cut short) each come back within
// about one deadline; so does a poll of many references.
func TestStuckRegistryTimesOut(t *testing.T) {
	const after = 300 * time.Millisecond
	host := newStuckRegistry(t)
	repo := mustRef(t, host+"/app:v1").Context()
	ops := []struct {
		name string
		do   func(c *Client) error
	}{
		{"Resolve", func(c *Client) error { _, err := c.Resolve(t.Context(), repo.Tag("v1")); return err }},
		{"ListTags", func(c *Client) error { _, err := c.ListTags(t.Context(), repo); return err }},
		{"SamePlatforms", func(c *Client) error {
			_, _, err := c.SamePlatforms(t.Context(), repo, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)},
				v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}, nil)
			return err
		}},
		{"ResolveMany", func(c *Client) error {
			for _, r := range c.ResolveMany(t.Context(), refsOn(t, host, 50), 8) {
				if r.Err == nil || !strings.Contains(r.Err.Error(), "did not answer") {
					return fmt.Errorf("%v, want every reference to fail", r.Err)
				}
			}
			_, err := c.Resolve(t.Context(), repo.Tag("v1"))
			return err
		}},
	}
	for _, op := range ops {
		c := newTestClient(Options{RequestTimeout: after})
		start := time.Now()
		err := op.do(c)
		took := time.Since(start)
		t.Logf("%s: %s", op.name, took.Round(time.Millisecond))
		within(t, op.name, took, after+500*time.Millisecond)
		wantNoAnswer(t, op.name, err, host, after)
	}
}

// A registry that answers 503 to everything: every entry point fails with a retryable
// error naming the registry, after a bounded number of tries.
func TestServerErrorsAreNamedAndRetryable(t *testing.T) {
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
	})
	c := newTestClient(Options{Backoff: 20 * time.Millisecond, MaxRetryWait: 200 * time.Millisecond})
	repo := tr.ref(t, "app:v1").Context()
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !IsRetryable(err) || errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), tr.host) {
			t.Errorf("%s: %v; want a retryable error naming %s", what, err, tr.host)
		}
	}
	start := time.Now()
	_, err := c.Resolve(t.Context(), repo.Tag("v1"))
	check("Resolve", err)
	_, err = c.ListTags(t.Context(), repo)
	check("ListTags", err)
	for k, r := range c.ResolveMany(t.Context(), refsOn(t, tr.host, 20), 8) {
		check(k, r.Err)
	}
	within(t, "all three", time.Since(start), 3*time.Second)
}

// The caller's own deadline is not the registry's fault: it comes back as the
// caller's error and does not pause the registry.
func TestCallerDeadlineDoesNotPause(t *testing.T) {
	s := newSilentRegistry(t)
	c := newTestClient(Options{RequestTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Resolve(ctx, mustRef(t, s.host+"/app:v1"))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "did not answer") {
		t.Errorf("Resolve: %v; want the caller's context deadline", err)
	}
	if b := c.Budget(); len(b) != 1 || b[0].Failures != 0 || !b[0].PausedUntil.IsZero() {
		t.Errorf("Budget() = %+v; want no pause for the caller's deadline", b)
	}
}

// A registry that hangs for a while and then answers again: the missed requests hold
// no slot, ping or transport, so once the pause has passed the same client resolves
// (with a single request slot, which a stuck request would hold forever).
func TestRegistryAnswersAgainAfterMisses(t *testing.T) {
	var hang atomic.Bool
	stop := make(chan struct{})
	tr := newTestRegistry(t, func(tr *testRegistry) {
		tr.before = func(w http.ResponseWriter, r *http.Request) bool {
			if !hang.Load() {
				return false
			}
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return true
		}
	})
	t.Cleanup(func() { close(stop) })
	want := tr.push(t, "app:v1", tinyImage(t))
	const after = 300 * time.Millisecond
	c := newTestClient(Options{RequestTimeout: after, MaxPerRegistry: 1, Backoff: 200 * time.Millisecond})
	ref := tr.ref(t, "app:v1")

	hang.Store(true) // from the first request: the ping goes unanswered
	_, err := c.Resolve(t.Context(), ref)
	wantNoAnswer(t, "Resolve while the registry hangs", err, tr.host, after)
	hang.Store(false)
	start := time.Now()
	_, err = c.Resolve(t.Context(), ref)
	wantNoAnswer(t, "Resolve during the pause", err, tr.host, after)
	within(t, "Resolve during the pause", time.Since(start), 50*time.Millisecond)

	resolveWhenUnpaused := func() {
		t.Helper()
		if b := c.Budget(); len(b) == 1 {
			time.Sleep(time.Until(b[0].PausedUntil))
		}
		d, err := c.Resolve(t.Context(), ref)
		if err != nil || d.Digest != want {
			t.Fatalf("Resolve after the pause: %v, %v; want %v", d.Digest, err, want)
		}
	}
	resolveWhenUnpaused()

	// Known, pinged and authenticated, it hangs again on the HEAD, and recovers again.
	hang.Store(true)
	_, err = c.Resolve(t.Context(), ref)
	wantNoAnswer(t, "Resolve of a known registry that hangs", err, tr.host, after)
	hang.Store(false)
	resolveWhenUnpaused()
	if b := c.Budget(); b[0].Failures != 0 {
		t.Errorf("Budget() = %+v; want the failure streak reset", b)
	}
}
