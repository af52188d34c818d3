package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/registry"
)

// fakeSink is the boundary: it records what the webhook hands on.
type fakeSink struct {
	mu      sync.Mutex
	events  []registry.PushEvent
	watched bool
	later   map[string]bool // repo:tag handed on later (EnqueueAfter)
}

func (s *fakeSink) Enqueue(ev registry.PushEvent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return s.watched
}

// EnqueueAfter hands ev on after d, once per repo:tag pending, as the updater does.
func (s *fakeSink) EnqueueAfter(ev registry.PushEvent, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.later == nil {
		s.later = map[string]bool{}
	}
	if s.later[ev.Key()] {
		return
	}
	s.later[ev.Key()] = true
	time.AfterFunc(d, func() {
		s.mu.Lock()
		delete(s.later, ev.Key())
		s.mu.Unlock()
		s.Enqueue(ev)
	})
}

func (s *fakeSink) got() []registry.PushEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]registry.PushEvent(nil), s.events...)
}

const (
	tok    = "0123456789abcdef0123456789abcdef"
	secret = "fedcba9876543210fedcba9876543210"
)

func allSources() config.Webhooks {
	return config.Webhooks{
		DockerHub:    &config.DockerHubSource{Token: tok},
		Distribution: &config.DistributionSource{Token: tok},
		GHCR:         &config.SecretSource{Secret: secret},
		Quay:         &config.TokenSource{Token: tok},
		Harbor:       &config.TokenSource{Token: "Basic " + tok},
		Gitea:        &config.SecretSource{Secret: secret},
		ACR:          &config.HeaderSource{Token: tok},
		JFrog:        &config.JFrogSource{Secret: secret},
		GAR:          &config.GARSource{Token: tok},
		ECR:          &config.HeaderSource{Token: tok, Header: "X-Api-Key"},
		Generic:      &config.SecretSource{Secret: secret},
	}
}

type harness struct {
	e    *echo.Echo
	s    *Server
	sink *fakeSink
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newHarness(t testing.TB, cfg config.Webhooks) *harness {
	t.Helper()
	h := &harness{e: echo.New(), sink: &fakeSink{watched: true}, logs: &syncBuffer{}}
	h.s = New(cfg, h.sink, zerolog.New(h.logs).Level(zerolog.DebugLevel))
	h.s.Register(h.e)
	return h
}

func (h *harness) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, r)
	return w
}

func post(path string, body []byte, hdr ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// validRequest builds the request each sender would make for a fixture.
func validRequest(source string, body []byte) *http.Request {
	switch source {
	case "dockerhub", "quay", "gar":
		return post("/webhooks/"+source+"/"+tok, body)
	case "distribution":
		return post("/webhooks/distribution", body, "Authorization", "Bearer "+tok, "Content-Type", "application/vnd.docker.distribution.events.v2+json")
	case "ghcr":
		return post("/webhooks/ghcr", body, "X-Hub-Signature-256", "sha256="+sign(secret, body), "X-GitHub-Event", "package")
	case "harbor":
		return post("/webhooks/harbor", body, "Authorization", "Basic "+tok)
	case "gitea":
		return post("/webhooks/gitea", body, "X-Gitea-Signature", sign(secret, body), "X-Gitea-Event", "package")
	case "acr":
		return post("/webhooks/acr", body, "Authorization", tok)
	case "jfrog":
		return post("/webhooks/jfrog", body, "X-JFrog-Event-Auth", secret)
	case "ecr":
		return post("/webhooks/ecr", body, "X-Api-Key", tok)
	case "generic":
		return post("/webhooks/generic", body, "X-Hoist-Signature", "sha256="+sign(secret, body))
	}
	panic(source)
}

func decodeBody(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("response is not JSON: %q", w.Body.String())
	}
	return m
}

func expectError(t testing.TB, w *httptest.ResponseRecorder, status int, substr string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	m := decodeBody(t, w)
	typ, _ := m["type"].(string)
	title, _ := m["title"].(string)
	code, _ := m["status"].(float64)
	msg, ok := m["detail"].(string)
	if !ok || len(m) != 4 || !strings.HasPrefix(typ, "https://hoist.dev/problems/") || title == "" || int(code) != status ||
		!strings.Contains(msg, substr) {
		t.Fatalf("error body %s, want a problem (type, title, status %d, detail containing %q)", w.Body, status, substr)
	}
}

// TestAcceptEverySource sends one real-shaped push per source through the router.
func TestAcceptEverySource(t *testing.T) {
	cases := map[string]struct{ fixture, key string }{
		"dockerhub":    {"float-timestamps", "index.docker.io/svendowideit/testhook:latest"},
		"distribution": {"v2-tag-push", "registry.example.com/team/app:v1.2.3"},
		"ghcr":         {"registry-package", "ghcr.io/acme/app:main"},
		"quay":         {"legacy-object", "quay.example.com:8443/acme/app:latest"},
		"harbor":       {"cloudevents", "harbor.example.com:8443/proj/app:v2.0"},
		"gitea":        {"created", "git.example.com/acme/app:v1.2.3"},
		"acr":          {"push", "myregistry.azurecr.io/hello-world:v1"},
		"jfrog":        {"pushed-token", "example.jfrog.io/docker-local/app:1.0"},
		"gar":          {"insert", "us-east1-docker.pkg.dev/acme-prod/images/app:v3"},
		"ecr":          {"push", "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/app:latest"},
		"generic":      {"image", "registry.example.com/team/app:1.2.3"},
	}
	h := newHarness(t, allSources())
	if got := len(h.s.Sources()); got != len(cases) {
		t.Fatalf("%d sources mounted, want %d", got, len(cases))
	}
	for source, c := range cases {
		t.Run(source, func(t *testing.T) {
			before := len(h.sink.got())
			w := h.do(validRequest(source, fixture(t, source, c.fixture)))
			if w.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			evs := h.sink.got()[before:]
			if len(evs) < 1 || evs[0].Key() != c.key || evs[0].Source != source {
				t.Fatalf("enqueued %v, want %s from %s", evs, c.key, source)
			}
			if m := decodeBody(t, w); m["status"] != "accepted" {
				t.Errorf("body %v", m)
			}
		})
	}
	logs := h.logs.String()
	for _, leak := range []string{tok, secret, "full_description", "svendowideit/apt-cacher", "evt-1\""} {
		if strings.Contains(logs, leak) {
			t.Errorf("log contains %q:\n%s", leak, logs)
		}
	}
}

func TestOnlyConfiguredSourcesMounted(t *testing.T) {
	h := newHarness(t, config.Webhooks{
		DockerHub: &config.DockerHubSource{Token: tok},
		Quay:      &config.TokenSource{Token: "short"}, // invalid: not mounted
	})
	expectError(t, h.do(post("/webhooks/quay/short", fixture(t, "quay", "push"))), http.StatusNotFound, "no webhook source")
	expectError(t, h.do(post("/webhooks/ghcr", []byte("{}"))), http.StatusNotFound, "no webhook source")
	expectError(t, h.do(httptest.NewRequest(http.MethodGet, "/webhooks/dockerhub/"+tok, nil)), http.StatusMethodNotAllowed, "POST")
	if len(h.sink.got()) != 0 {
		t.Fatal("enqueued")
	}
}

func TestHostileRequests(t *testing.T) {
	ghBody := fixture(t, "ghcr", "package-published")
	giteaBody := fixture(t, "gitea", "created")
	distBody := fixture(t, "distribution", "v2-tag-push")
	cases := []struct {
		name   string
		req    *http.Request
		status int
		msg    string
	}{
		{"dockerhub wrong token", post("/webhooks/dockerhub/"+strings.Repeat("x", 32), fixture(t, "dockerhub", "push")), 401, "wrong token"},
		{"dockerhub no token", post("/webhooks/dockerhub", fixture(t, "dockerhub", "push")), 401, "token missing"},
		{"dockerhub token prefix", post("/webhooks/dockerhub/"+tok[:16], fixture(t, "dockerhub", "push")), 401, "wrong token"},
		{"distribution no header", post("/webhooks/distribution", distBody), 401, "missing Authorization"},
		{"distribution not bearer", post("/webhooks/distribution", distBody, "Authorization", tok), 401, "wrong bearer"},
		{"distribution wrong bearer", post("/webhooks/distribution", distBody, "Authorization", "Bearer "+secret), 401, "wrong bearer"},
		{"ghcr no signature", post("/webhooks/ghcr", ghBody), 401, "missing X-Hub-Signature-256"},
		{"ghcr empty signature", post("/webhooks/ghcr", ghBody, "X-Hub-Signature-256", "sha256="), 401, "empty"},
		{"ghcr bad hmac", post("/webhooks/ghcr", ghBody, "X-Hub-Signature-256", "sha256="+sign("wrong-secret-wrong-secret", ghBody)), 401, "bad X-Hub-Signature-256"},
		{"ghcr hmac of other body", post("/webhooks/ghcr", ghBody, "X-Hub-Signature-256", "sha256="+sign(secret, []byte("{}"))), 401, "bad"},
		{"ghcr sha1 only", post("/webhooks/ghcr", ghBody, "X-Hub-Signature", "sha1=abc"), 401, "missing"},
		{"ghcr not hex", post("/webhooks/ghcr", ghBody, "X-Hub-Signature-256", "sha256=zz"), 401, "malformed"},
		{"gitea empty signatures", post("/webhooks/gitea", giteaBody, "X-Gitea-Signature", "", "X-Hub-Signature-256", "sha256="), 401, "empty"},
		{"gitea bad", post("/webhooks/gitea", giteaBody, "X-Forgejo-Signature", sign("nope-nope-nope-nope", giteaBody)), 401, "bad X-Forgejo-Signature"},
		{"harbor wrong", post("/webhooks/harbor", fixture(t, "harbor", "push-artifact"), "Authorization", "Bearer "+tok), 401, "wrong Authorization"},
		{"acr missing", post("/webhooks/acr", fixture(t, "acr", "push")), 401, "missing Authorization"},
		{"jfrog signature as token", post("/webhooks/jfrog", fixture(t, "jfrog", "pushed-token"), "X-JFrog-Event-Auth", sign(secret, fixture(t, "jfrog", "pushed-token"))), 401, "wrong"},
		{"ecr wrong header", post("/webhooks/ecr", fixture(t, "ecr", "push"), "Authorization", tok), 401, "missing X-Api-Key"},
		{"generic bare hex", post("/webhooks/generic", []byte(`{"image":"a.io/b:c"}`), "X-Hoist-Signature", sign(secret, []byte(`{"image":"a.io/b:c"}`))), 202, ""},
		{"malformed JSON", validRequest("distribution", []byte(`{"events":[`)), 400, "malformed payload"},
		{"malformed not object", validRequest("ghcr", []byte(`[1,2]`)), 400, "malformed payload"},
		{"bad name single", validRequest("dockerhub", fixture(t, "dockerhub", "bad-name")), 400, "bad repository or tag"},
		{"generic no tag", validRequest("generic", fixture(t, "generic", "no-tag")), 400, "explicit tag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, allSources())
			w := h.do(c.req)
			if c.status == 202 {
				if w.Code != 202 {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				return
			}
			expectError(t, w, c.status, c.msg)
			if len(h.sink.got()) != 0 {
				t.Fatal("enqueued")
			}
		})
	}
}

func TestGitHubSignatureVector(t *testing.T) {
	// From GitHub's "Validating webhook deliveries".
	a := &hmacSHA256{key: []byte("It's a Secret to Everybody"), headers: []sigHeader{{"X-Hub-Signature-256", "sha256="}}}
	r := post("/", nil, "X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	if ok, why := a.authenticate(r, "", []byte("Hello, World!")); !ok {
		t.Fatal(why)
	}
}

func TestHeaderAuthModes(t *testing.T) {
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	a := headerAuth(config.HeaderSource{Token: tok})
	for v, want := range map[string]bool{
		tok: true, "Bearer " + tok: true, "bearer " + tok: true, basic("hoist", tok): true, basic("", tok): true,
		basic(tok, "x"): false, "Basic !!!": false, "Bearer": false, tok + "x": false, "": false,
	} {
		r := post("/", nil)
		if v != "" {
			r.Header.Set("Authorization", v)
		}
		if ok, _ := a.authenticate(r, "", nil); ok != want {
			t.Errorf("%q: %v, want %v", v, ok, want)
		}
	}
}

func TestJFrogSigning(t *testing.T) {
	cfg := config.Webhooks{JFrog: &config.JFrogSource{Secret: secret, Signing: true}}
	h := newHarness(t, cfg)
	body := fixture(t, "jfrog", "pushed-signed")
	expectError(t, h.do(post("/webhooks/jfrog", body, "X-JFrog-Event-Auth", secret)), 401, "malformed")
	if w := h.do(post("/webhooks/jfrog", body, "X-JFrog-Event-Auth", sign(secret, body))); w.Code != 202 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if evs := h.sink.got(); len(evs) != 1 || evs[0].Tag != "2.0" {
		t.Fatalf("%v", evs)
	}
}

func TestReplayedDelivery(t *testing.T) {
	h := newHarness(t, allSources())
	gh := fixture(t, "ghcr", "package-published")
	for i := 0; i < 3; i++ {
		r := validRequest("ghcr", gh)
		r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		w := h.do(r)
		if w.Code != 202 {
			t.Fatalf("status %d", w.Code)
		}
		if want := map[bool]string{true: "accepted", false: "duplicate"}[i == 0]; decodeBody(t, w)["status"] != want {
			t.Errorf("delivery %d: %s, want %s", i, w.Body, want)
		}
		h.s.now = func() time.Time { return time.Now().Add(time.Duration(i+1) * time.Minute) } // past coalescing
	}
	// Distribution and ECR carry the id in the body.
	for _, src := range []string{"distribution", "ecr", "acr", "gar"} {
		body := map[string][]byte{"distribution": fixture(t, "distribution", "v2-tag-push"), "ecr": fixture(t, "ecr", "push"),
			"acr": fixture(t, "acr", "push"), "gar": fixture(t, "gar", "insert")}[src]
		h.do(validRequest(src, body))
		h.s.now = func() time.Time { return time.Now().Add(time.Hour) }
		if w := h.do(validRequest(src, body)); decodeBody(t, w)["status"] != "duplicate" || w.Code != 202 {
			t.Errorf("%s replay: %d %s", src, w.Code, w.Body)
		}
		h.s.now = time.Now
	}
	if n := len(h.sink.got()); n != 5 {
		t.Fatalf("%d enqueued, want 5 (one per source)", n)
	}
	if ev := h.sink.got()[0]; ev.DeliveryID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
		t.Errorf("delivery id %q", ev.DeliveryID)
	}
}

func TestOversizedBody(t *testing.T) {
	cfg := allSources()
	cfg.Limits.MaxBody = 4 << 10
	h := newHarness(t, cfg)
	big := []byte(`{"events":[],"pad":"` + strings.Repeat("a", 8<<10) + `"}`)
	expectError(t, h.do(validRequest("distribution", big)), http.StatusRequestEntityTooLarge, "body larger than 4096")
	// Without Content-Length the reader cap still holds.
	r := validRequest("distribution", big)
	r.ContentLength = -1
	r.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(big)})
	expectError(t, h.do(r), http.StatusRequestEntityTooLarge, "body larger than 4096")
}

func TestRateLimit(t *testing.T) {
	cfg := allSources()
	cfg.Limits = config.WebhookLimits{Rate: 1, Burst: 3}
	h := newHarness(t, cfg)
	body := fixture(t, "distribution", "blob-push")
	codes := map[int]int{}
	for i := 0; i < 10; i++ {
		codes[h.do(validRequest("distribution", body)).Code]++
	}
	if codes[202] != 3 || codes[429] != 7 {
		t.Fatalf("codes %v, want 3×202 and 7×429", codes)
	}
	w := h.do(validRequest("distribution", body))
	expectError(t, w, 429, "too many")
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Unauthenticated requests do not use up a source's budget; another source is unaffected.
	if w := h.do(validRequest("quay", fixture(t, "quay", "push"))); w.Code != 202 {
		t.Fatalf("quay: %d", w.Code)
	}
}

func TestUnauthenticatedFloodDoesNotStarveSender(t *testing.T) {
	cfg := allSources()
	cfg.Limits = config.WebhookLimits{Rate: 1, Burst: 2}
	h := newHarness(t, cfg)
	for i := 0; i < 50; i++ {
		h.do(post("/webhooks/distribution", []byte("{}"), "Authorization", "Bearer nope"))
	}
	if w := h.do(validRequest("distribution", fixture(t, "distribution", "v2-tag-push"))); w.Code != 202 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// TestBurstCoalesced: 100 events for one tag within a second reach the sink once at
// once, and once more when the window ends (covering a real push inside the burst).
func TestBurstCoalesced(t *testing.T) {
	cfg := allSources()
	cfg.Limits = config.WebhookLimits{Rate: 1000, Burst: 1000}
	h := newHarness(t, cfg)
	start := time.Now()
	for i := 0; i < 100; i++ {
		body := []byte(fmt.Sprintf(`{"events":[{"id":"evt-%d","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"team/app","tag":"v1"},"request":{"host":"registry.example.com","method":"PUT"}}]}`, i))
		if w := h.do(validRequest("distribution", body)); w.Code != 202 {
			t.Fatalf("%d: %d %s", i, w.Code, w.Body)
		}
	}
	if evs := h.sink.got(); time.Since(start) < coalesceWindow && (len(evs) != 1 || evs[0].Key() != "registry.example.com/team/app:v1") {
		t.Fatalf("enqueued %d during the burst: %v", len(evs), evs)
	}
	time.Sleep(coalesceWindow + 500*time.Millisecond)
	if evs := h.sink.got(); len(evs) != 2 {
		t.Fatalf("enqueued %d after the window, want 2 (first + trailing): %v", len(evs), evs)
	}
	// After the window, the tag is handed on again at once.
	h.s.now = func() time.Time { return time.Now().Add(3 * time.Second) }
	w := h.do(validRequest("distribution", []byte(`{"events":[{"id":"z","action":"push","target":{"repository":"team/app","tag":"v1"},"request":{"host":"registry.example.com"}}]}`)))
	if m := decodeBody(t, w); m["events"] != 1.0 {
		t.Fatalf("after the window: %s", w.Body)
	}
	if n := len(h.sink.got()); n != 3 {
		t.Fatalf("%d enqueued, want 3", n)
	}
}

func TestIgnoredAnswered202(t *testing.T) {
	h := newHarness(t, allSources())
	for _, c := range [][2]string{
		{"distribution", "blob-push"}, {"distribution", "pull-head"}, {"distribution", "untagged-manifest"},
		{"distribution", "mount-delete"}, {"ghcr", "package-empty-tag"}, {"ghcr", "ping"}, {"harbor", "tagless"},
		{"gitea", "digest-version"}, {"acr", "ping"}, {"gar", "delete"}, {"ecr", "push-failure"}, {"jfrog", "deleted"},
	} {
		w := h.do(validRequest(c[0], fixture(t, c[0], c[1])))
		if w.Code != 202 || decodeBody(t, w)["status"] != "ignored" {
			t.Errorf("%s/%s: %d %s", c[0], c[1], w.Code, w.Body)
		}
	}
	if n := len(h.sink.got()); n != 0 {
		t.Fatalf("%d enqueued", n)
	}
}

func TestUnwatchedStill202(t *testing.T) {
	h := newHarness(t, allSources())
	h.sink.watched = false
	if w := h.do(validRequest("dockerhub", fixture(t, "dockerhub", "push"))); w.Code != 202 {
		t.Fatalf("%d", w.Code)
	}
	if !strings.Contains(h.logs.String(), `"outcome":"unwatched"`) {
		t.Errorf("log: %s", h.logs)
	}
}

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/webhooks/dockerhub/" + tok: "/webhooks/dockerhub/<token>",
		"/webhooks/distribution":     "/webhooks/distribution",
		"/api/v1/x":                  "/api/v1/x",
		"/webhooks/":                 "/webhooks/",
	} {
		if got := RedactPath(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
}

func TestTTLSet(t *testing.T) {
	s := newTTLSet(time.Minute, 3)
	t0 := time.Unix(1000, 0)
	if s.add("a", t0) || !s.add("a", t0.Add(time.Second)) {
		t.Fatal("a")
	}
	if s.add("a", t0.Add(2*time.Minute)) { // expired, re-added in a new slot
		t.Fatal("a expired")
	}
	s.add("b", t0.Add(2*time.Minute))
	s.add("c", t0.Add(2*time.Minute)) // overwrites a's first slot: must not evict the fresh a
	if !s.add("a", t0.Add(2*time.Minute)) {
		t.Fatal("fresh a evicted by its stale slot")
	}
	s.add("d", t0.Add(2*time.Minute)) // full: evicts the oldest slot
	if len(s.at) > 3 || len(s.ring) != 3 {
		t.Fatalf("%d entries in %d slots", len(s.at), len(s.ring))
	}
	// A set for many keys grows as keys come.
	if big := newTTLSet(time.Minute, dedupeMax); cap(big.ring) != 0 || len(big.at) != 0 {
		t.Errorf("an empty set holds %d slots", cap(big.ring))
	}
}

// TestDedupeKeysBounded: delivery ids come from headers and bodies the sender controls
// (up to max_body). The dedupe set keeps dedupeMax of them for 24 h, so what it holds
// per id must not grow with the id, and what is handed on must stay short.
func TestDedupeKeysBounded(t *testing.T) {
	cfg := allSources()
	cfg.Limits = config.WebhookLimits{Rate: 1000, Burst: 1000}
	h := newHarness(t, cfg)
	long := strings.Repeat("x", 100<<10)
	for i := 0; i < 5; i++ {
		body := []byte(fmt.Sprintf(`{"image":"registry.example.com/team/app%d:1.0"}`, i))
		r := validRequest("generic", body)
		r.Header.Set("X-Hoist-Delivery", fmt.Sprintf("%d-%s", i, long))
		if w := h.do(r); w.Code != 202 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		ecr := bytes.Replace(fixture(t, "ecr", "push"), []byte(`"13cde686-328b-6117-af20-0e5566167482"`), []byte(fmt.Sprintf(`"%d-%s"`, i, long)), 1)
		ecr = bytes.Replace(ecr, []byte(`team/app`), []byte(fmt.Sprintf("team/app%d", i)), 1)
		if w := h.do(validRequest("ecr", ecr)); w.Code != 202 || decodeBody(t, w)["events"] != 1.0 {
			t.Fatalf("ecr %d %s", w.Code, w.Body)
		}
	}
	// Replays are still recognised.
	r := validRequest("generic", []byte(`{"image":"registry.example.com/team/app0:1.0"}`))
	r.Header.Set("X-Hoist-Delivery", "0-"+long)
	if w := h.do(r); decodeBody(t, w)["status"] != "duplicate" {
		t.Fatalf("replay: %s", w.Body)
	}
	h.s.seen.mu.Lock()
	for k := range h.s.seen.at {
		if len(k) > 128 {
			t.Errorf("dedupe key of %d bytes", len(k))
		}
	}
	h.s.seen.mu.Unlock()
	for _, ev := range h.sink.got() {
		if len(ev.DeliveryID) > 128 {
			t.Errorf("delivery id of %d bytes handed on", len(ev.DeliveryID))
		}
	}
}

// TestErrorBodies: every refusal is a problem through the router, says what was wrong
// in hoist's words (no Go type names), repeats at most 80 characters of a sender's
// value, and never repeats a secret.
func TestErrorBodies(t *testing.T) {
	long := strings.Repeat("a", 10000)
	cases := []struct {
		name   string
		req    *http.Request
		status int
		detail string
	}{
		{"wrong JSON type", validRequest("dockerhub", []byte(`{"push_data":{"tag":5},"repository":{"repo_name":"acme/app"}}`)), 400, "not the JSON of a dockerhub push notification"},
		{"long tag", validRequest("dockerhub", []byte(`{"push_data":{"tag":"`+long+`"},"repository":{"repo_name":"acme/app"}}`)), 400, `"` + strings.Repeat("a", 80) + `…"`},
		{"long image", validRequest("generic", []byte(`{"image":"`+long+`"}`)), 400, "explicit tag"},
		{"wrong token", post("/webhooks/dockerhub/"+secret, fixture(t, "dockerhub", "push")), 401, "wrong token"},
		{"GET", httptest.NewRequest(http.MethodGet, "/webhooks/dockerhub/"+tok, nil), 405, "POST"},
		{"unknown source", post("/webhooks/nope", []byte("{}")), 404, "no webhook source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newHarness(t, allSources()).do(c.req)
			expectError(t, w, c.status, c.detail)
			b := w.Body.String()
			for _, leak := range []string{"Go ", "struct", "int", long[:81], secret, tok} {
				if strings.Contains(b, leak) {
					t.Errorf("body repeats %.20q: %s", leak, b)
				}
			}
			if len(b) > 400 {
				t.Errorf("body of %d bytes", len(b))
			}
			if c.status == 405 && w.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
		})
	}
}

func TestCutQuoted(t *testing.T) {
	long := strings.Repeat("é", 100)
	cases := map[string]string{
		`tag "v1"`:                          `tag "v1"`,
		`tag "` + long + `" and "x"`:        `tag "` + strings.Repeat("é", 80) + `…" and "x"`,
		`unterminated "abc`:                 `unterminated "abc`,
		`two "` + long + `" "` + long + `"`: `two "` + strings.Repeat("é", 80) + `…" "` + strings.Repeat("é", 80) + `…"`,
	}
	for in, want := range cases {
		if got := cutQuoted(in); got != want {
			t.Errorf("cutQuoted(%.30q) = %q, want %q", in, got, want)
		}
	}
}
