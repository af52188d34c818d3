package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/store"
	"github.com/hoist-dev/hoist/updater"
)

const token = "0123456789abcdef0123456789abcdef"

// engine is an engine kept in memory: the services the dashboard shows and what was
// done to them. Update walks the phases a real backend reports and waits for release,
// so a test sees a rollout under way. The real backends are tested in updater/swarm,
// updater/container and cmd/hoist's e2e tests.
type engine struct {
	mu      sync.Mutex
	ws      []updater.Workload
	release chan struct{}
	calls   []string
}

func (b *engine) Kind() policy.Kind { return policy.Service }

func (b *engine) List(ctx context.Context) ([]updater.Workload, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]updater.Workload(nil), b.ws...), nil
}

func (b *engine) Update(ctx context.Context, ws []updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	j.Enter(updater.PhaseConverging)
	j.Enter(updater.PhaseWatching)
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "update "+ws[0].Key())
	for i := range b.ws {
		if b.ws[i].Key() == ws[0].Key() {
			b.ws[i].Image = t.Image()
		}
	}
	return updater.Result{Outcome: updater.Succeeded}
}

func (b *engine) Rollback(ctx context.Context, w updater.Workload) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "rollback "+w.Key())
	return nil
}

func (b *engine) Finish(ctx context.Context, w updater.Workload) error { return nil }

func (b *engine) called() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// env is a dashboard wired as serve wires it: a real updater, store and registry
// (in-process), the API beside it, and the in-memory engine holding service/web (on
// an old digest, its policy holding the new one for approval) and service/calm (up to
// date).
type env struct {
	e      *echo.Echo
	ui     *Server
	srv    *httptest.Server
	store  *store.Store[updater.Plan]
	engine *engine
	u      *updater.Updater
	old    string // digest web runs
	next   string // digest waiting for approval
	base   string
}

func newEnv(t *testing.T, base string, anonymous bool) *env {
	t.Helper()
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:1"
	old, next := push(t, ref), push(t, ref)
	calm := reg.Host + "/calm:1"
	calmDigest := push(t, calm)
	store, err := store.Open[updater.Plan](t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	v := &env{store: store, old: old, next: next, base: base, engine: &engine{release: make(chan struct{}), ws: []updater.Workload{
		{Kind: policy.Service, ID: "s1", Name: "web", Image: ref + "@" + old, HasPrevious: true},
		{Kind: policy.Service, ID: "s2", Name: "calm", Image: calm + "@" + calmDigest},
	}}}
	rule, err := policy.NewRule("gated", []string{"*"}, nil, nil, policy.Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	rule.When.Approve = true
	v.u = updater.New(updater.Options{Backends: []updater.Backend{v.engine}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{"gated": {}}, Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.u.Run(ctx); close(done) }()
	t.Cleanup(func() {
		close(v.engine.release)
		cancel()
		<-done
	})
	v.e = echo.New()
	api.New(ctx, v.u, token, api.NewMetrics()).Register(v.e)
	v.ui = New(ctx, v.u, store, Options{BasePath: base, Token: token, AnonymousRead: anonymous, TrustedProxies: []string{"10.9.0.0/16"}, Log: zerolog.Nop()})
	v.ui.Register(v.e)
	v.srv = httptest.NewServer(v.e)
	t.Cleanup(v.srv.Close)
	return v
}

// push writes a random image to ref and returns its digest.
func push(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

// do sends a request through the router, as a browser on the same site would unless
// hdr says otherwise.
func (v *env) do(method, path, body string, hdr map[string]string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	return v.doFrom("", method, path, body, hdr, cookies...)
}

// doFrom is do from the peer address remote ("": httptest's 192.0.2.1:1234).
func (v *env) doFrom(remote, method, path, body string, hdr map[string]string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if remote != "" {
		req.RemoteAddr = remote
	}
	for k, val := range hdr {
		req.Header.Set(k, val)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	v.e.ServeHTTP(w, req)
	return w
}

// login posts the token and returns the session cookie and the page's CSRF token.
func (v *env) login(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	w := v.do(http.MethodPost, v.base+"login", url.Values{"token": {token}}.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != v.base {
		t.Fatalf("login: %d to %q, want 303 to %s", w.Code, w.Header().Get("Location"), v.base)
	}
	res := w.Result()
	if len(res.Cookies()) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(res.Cookies()))
	}
	c := res.Cookies()[0]
	page := v.do(http.MethodGet, v.base, "", nil, c)
	if page.Code != http.StatusOK {
		t.Fatalf("page after login: %d", page.Code)
	}
	csrf := between(page.Body.String(), `<meta name="csrf-token" content="`, `"`)
	if len(csrf) < 32 {
		t.Fatalf("page carries CSRF token %q", csrf)
	}
	return &http.Cookie{Name: c.Name, Value: c.Value}, csrf
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

// act posts an action as the page does.
func (v *env) act(c *http.Cookie, csrf, action, body string) *httptest.ResponseRecorder {
	return v.do(http.MethodPost, v.base+"actions/"+action, body, map[string]string{
		"Content-Type": "application/json", csrfHeader: csrf, "Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, c)
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// echoFor mounts s alone on a new router.
func echoFor(s *Server) *echo.Echo {
	e := echo.New()
	s.Register(e)
	return e
}
