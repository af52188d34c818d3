package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/store"
	"github.com/hoist-dev/hoist/updater"
)

const token = "0123456789abcdef0123456789abcdef"

// env is an API wired as serve wires it: a real updater and store, with in-memory
// backends holding a service and a container.
type env struct {
	e        *echo.Echo
	store    *store.Store[updater.Plan]
	metrics  *Metrics
	services *memBackend
	conts    *memBackend
}

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := store.Open[updater.Plan](t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	v := &env{store: store, metrics: NewMetrics(),
		services: &memBackend{kind: policy.Service, ws: []updater.Workload{
			{Kind: policy.Service, ID: "s1", Name: "web", Image: "registry.example.com/web:1@" + digestA, HasPrevious: true},
			{Kind: policy.Service, ID: "s2", Name: "fresh", Image: "registry.example.com/fresh:1@" + digestA},
		}},
		conts: &memBackend{kind: policy.Container, ws: []updater.Workload{
			{Kind: policy.Container, ID: "c1", Name: "db", Image: "registry.example.com/db:1", Digest: digestA, HasPrevious: true},
			{Kind: policy.Container, ID: "c2", Name: "cache", Image: "registry.example.com/cache:1"},
		}},
	}
	u := updater.New(updater.Options{Backends: []updater.Backend{v.services, v.conts}, Policies: policy.NewSet(),
		Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop(), Count: v.metrics.Inc})
	v.e = echo.New()
	New(context.Background(), u, token, v.metrics).Register(v.e)
	return v
}

func do(e *echo.Echo, method, path, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

func (v *env) do(method, path string) *httptest.ResponseRecorder {
	return do(v.e, method, path, "Bearer "+token)
}

// problemOf decodes w as a problem and checks its shape.
func problemOf(t *testing.T, w *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != ContentTypeProblem {
		t.Errorf("content type %q, want %s: %s", ct, ContentTypeProblem, w.Body)
	}
	var raw map[string]any
	var p Problem
	if json.Unmarshal(w.Body.Bytes(), &raw) != nil || json.Unmarshal(w.Body.Bytes(), &p) != nil || len(raw) != 4 ||
		p.Status != w.Code || !strings.HasPrefix(p.Type, ProblemType) || p.Title == "" || p.Detail == "" {
		t.Errorf("not a problem answering %d: %s", w.Code, w.Body)
	}
	return p
}

func (v *env) records(t *testing.T) []updater.Rollout {
	t.Helper()
	rs, err := v.store.Rollouts("", 100)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestAuthAndRoutes(t *testing.T) {
	v := newEnv(t)
	v.metrics.Inc("hoist_rollouts_total", "kind", "service", "outcome", "succeeded")
	cases := []struct {
		method, path, auth string
		code               int
		body               string
	}{
		{"GET", "/healthz", "", 200, `"ok"`},
		{"GET", "/metrics", "", 200, `hoist_rollouts_total{kind="service",outcome="succeeded"} 1`},
		{"GET", "/api/v1/rollouts", "", 401, "Bearer"},
		{"GET", "/api/v1/rollouts", "Bearer wrong", 401, "Bearer"},
		{"GET", "/api/v1/rollouts", "Bearer " + token + "x", 401, "Bearer"},
		{"GET", "/api/v1/rollouts", token, 401, "Bearer"},
		{"GET", "/api/v1/rollouts", "Bearer " + token, 200, "[]"},
		{"GET", "/api/v1/workloads", "Bearer " + token, 200, `"no-policy"`},
		{"GET", "/api/v1/registries", "Bearer " + token, 200, "[]"},
		{"GET", "/api/v1/openapi.json", "Bearer " + token, 200, `"openapi": "3.1.0"`},
		{"GET", "/api/v1/openapi.json", "", 401, "Bearer"},
		{"POST", "/api/v1/workloads/pod/x/rollback", "Bearer " + token, 400, "kind must be service or container"},
		{"POST", "/api/v1/workloads/service/nope/rollback", "Bearer " + token, 404, "no such workload"},
		{"POST", "/api/v1/workloads/container/nope/finish", "Bearer " + token, 404, "no such workload"},
		{"DELETE", "/api/v1/workloads/service/nope/quarantine", "Bearer " + token, 404, "nothing quarantined"},
		{"POST", "/api/v1/workloads/service/nope/approve", "Bearer " + token, 404, "no such workload"},
		{"POST", "/api/v1/workloads/service/web/approve", "Bearer " + token, 409, "nothing to approve"},
		{"POST", "/api/v1/workloads/service/nope/approve", "", 401, "Bearer"},
		{"GET", "/api/v1/nope", "Bearer " + token, 404, "no route"},
	}
	for _, c := range cases {
		w := do(v.e, c.method, c.path, c.auth)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("%s %s (auth %q): %d %s, want %d containing %q", c.method, c.path, c.auth, w.Code, w.Body, c.code, c.body)
		}
		if c.code >= 400 {
			problemOf(t, w)
		}
		if c.code == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.path)
		}
	}
}

// Without a token the API is not mounted at all; health and metrics stay.
func TestNoTokenNoAPI(t *testing.T) {
	store, err := store.Open[updater.Plan](t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u := updater.New(updater.Options{Policies: policy.NewSet(), Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	e := echo.New()
	New(context.Background(), u, "", NewMetrics()).Register(e)
	if w := do(e, "GET", "/api/v1/rollouts", "Bearer "); w.Code != http.StatusNotFound {
		t.Errorf("API mounted without a token: %d", w.Code)
	}
	if w := do(e, "GET", "/healthz", ""); w.Code != 200 {
		t.Errorf("healthz: %d", w.Code)
	}
}

// A finish on a service is refused (Swarm keeps no previous container) and leaves no
// record; the backend is not asked.
func TestFinishServiceRefused(t *testing.T) {
	v := newEnv(t)
	for _, name := range []string{"web", "fresh"} {
		w := v.do("POST", "/api/v1/workloads/service/"+name+"/finish")
		if p := problemOf(t, w); w.Code != 400 || p.Type != ProblemType+"finish-service" {
			t.Errorf("finish service/%s: %d %s", name, w.Code, w.Body)
		}
	}
	if rs := v.records(t); len(rs) != 0 {
		t.Errorf("refused finish recorded: %+v", rs)
	}
	if c := v.services.called(); len(c) != 0 {
		t.Errorf("backend asked: %v", c)
	}
	// A container's finish is done and recorded.
	if w := v.do("POST", "/api/v1/workloads/container/db/finish"); w.Code != 200 {
		t.Fatalf("finish container/db: %d %s", w.Code, w.Body)
	}
	if rs := v.records(t); len(rs) != 1 || rs[0].Outcome != updater.Succeeded || rs[0].Trigger != "manual finish" {
		t.Errorf("records %+v, want one succeeded manual finish", rs)
	}
}

// Refused manual actions (nothing kept, busy, unknown workload) are not recorded;
// only the one that did something is.
func TestRefusedActionsNotRecorded(t *testing.T) {
	v := newEnv(t)
	for _, path := range []string{"service/fresh/rollback", "container/cache/rollback", "container/cache/finish"} {
		w := v.do("POST", "/api/v1/workloads/"+path)
		if p := problemOf(t, w); w.Code != 409 || p.Type != ProblemType+"nothing-kept" {
			t.Errorf("%s: %d %s, want 409 nothing-kept", path, w.Code, w.Body)
		}
	}
	// A rollback in progress holds the workload: a second one is refused (busy).
	v.services.hold, v.services.held = make(chan struct{}), make(chan struct{})
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- v.do("POST", "/api/v1/workloads/service/web/rollback") }()
	<-v.services.held
	w := v.do("POST", "/api/v1/workloads/service/web/rollback")
	if p := problemOf(t, w); w.Code != 409 || p.Type != ProblemType+"busy" {
		t.Errorf("second rollback: %d %s, want 409 busy", w.Code, w.Body)
	}
	close(v.services.hold)
	if w := <-first; w.Code != 200 {
		t.Errorf("first rollback: %d %s", w.Code, w.Body)
	}
	rs := v.records(t)
	if len(rs) != 1 || rs[0].Workload != "service/web" || rs[0].Outcome != updater.Succeeded || rs[0].Trigger != "manual rollback" {
		t.Errorf("records %+v, want only the rollback that was done", rs)
	}
	body := do(v.e, "GET", "/metrics", "").Body.String()
	for _, want := range []string{
		`hoist_manual_actions_total{action="rollback",result="done"} 1`,
		`hoist_manual_actions_total{action="rollback",result="refused"} 3`,
		`hoist_manual_actions_total{action="finish",result="refused"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}

// A known path asked with another method answers 405 with Allow, as a problem.
func TestWrongMethod(t *testing.T) {
	v := newEnv(t)
	cases := []struct{ method, path, allow string }{
		{"POST", "/healthz", "GET"},
		{"DELETE", "/metrics", "GET"},
		{"POST", "/api/v1/rollouts", "GET"},
		{"PUT", "/api/v1/workloads", "GET"},
		{"GET", "/api/v1/check", "POST"},
		{"GET", "/api/v1/workloads/service/web/rollback", "POST"},
		{"DELETE", "/api/v1/workloads/service/web/finish", "POST"},
		{"GET", "/api/v1/workloads/service/web/approve", "POST"},
		{"POST", "/api/v1/workloads/service/web/quarantine", "DELETE"},
		{"DELETE", "/api/v1/registries", "GET"},
		{"POST", "/api/v1/openapi.json", "GET"},
	}
	for _, c := range cases {
		w := v.do(c.method, c.path)
		if w.Code != 405 || !strings.Contains(w.Header().Get("Allow"), c.allow) {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %s", c.method, c.path, w.Code, w.Header().Get("Allow"), c.allow)
		}
		problemOf(t, w)
	}
}

// Malformed parameters answer 400, saying which and what is taken, with at most 80
// characters of the value.
func TestParameters(t *testing.T) {
	v := newEnv(t)
	long := strings.Repeat("x", 10<<10)
	bad := []string{
		"/api/v1/rollouts?limit=-1", "/api/v1/rollouts?limit=0", "/api/v1/rollouts?limit=abc", "/api/v1/rollouts?limit=1.5",
		"/api/v1/rollouts?limit=100000000000000000000000", "/api/v1/rollouts?limit=1001", "/api/v1/rollouts?limit=+5",
		"/api/v1/rollouts?limit=" + long, "/api/v1/rollouts?workload=web", "/api/v1/rollouts?workload=service/",
		"/api/v1/rollouts?workload=pod/x",
	}
	for _, path := range bad {
		w := v.do("GET", path)
		if p := problemOf(t, w); w.Code != 400 || p.Type != ProblemType+"invalid-parameter" || len(p.Detail) > 200 {
			t.Errorf("GET %.60s: %d %s", path, w.Code, w.Body)
		}
	}
	for _, path := range []string{"/api/v1/rollouts?limit=1", "/api/v1/rollouts?limit=1000", "/api/v1/rollouts?workload=service/web", "/api/v1/rollouts?workload="} {
		if w := v.do("GET", path); w.Code != 200 {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	badPost := map[string]string{
		"/api/v1/workloads/service/web/approve?digest=abc":                                "digest",
		"/api/v1/workloads/service/web/approve?digest=" + long:                            "digest",
		"/api/v1/workloads/service/web/approve?digest=sha256:" + strings.Repeat("A", 64):  "digest",
		"/api/v1/workloads/service/web/approve?digest=sha512:" + strings.Repeat("a", 128): "digest",
		"/api/v1/workloads/service//rollback":                                             "empty",
		"/api/v1/workloads/container//finish":                                             "empty",
		"/api/v1/workloads/service//approve":                                              "empty",
		"/api/v1/workloads/service/" + long + "/rollback":                                 "name",
		"/api/v1/workloads/service/-x/rollback":                                           "name",
		"/api/v1/workloads/service/a%20b/rollback":                                        "name",
		"/api/v1/workloads/" + long + "/web/rollback":                                     "kind",
	}
	for path, word := range badPost {
		w := v.do("POST", path)
		p := problemOf(t, w)
		if w.Code != 400 || !strings.Contains(p.Detail, word) || len(w.Body.String()) > 400 {
			t.Errorf("POST %.70s: %d %.300s", path, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), strings.Repeat("x", 81)) {
			t.Errorf("POST %.70s: input echoed past 80 characters", path)
		}
	}
	w := v.do("DELETE", "/api/v1/workloads/container/"+long+"/quarantine")
	if problemOf(t, w); w.Code != 400 {
		t.Errorf("DELETE long name: %d", w.Code)
	}
	// A digest of the right form reaches the updater: nothing waits, 409.
	if w := v.do("POST", "/api/v1/workloads/service/web/approve?digest="+digestA); w.Code != 409 {
		t.Errorf("approve with a good digest: %d %s", w.Code, w.Body)
	}
	if rs := v.records(t); len(rs) != 0 {
		t.Errorf("records %+v", rs)
	}
}

type budgets []registry.Budget

func (b budgets) Budget() []registry.Budget { return b }

// Registries are snake_case, and what is unknown is left out (no -1, no year 1).
func TestRegistriesShape(t *testing.T) {
	store, err := store.Open[updater.Plan](t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u := updater.New(updater.Options{Policies: policy.NewSet(), Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	e := echo.New()
	seen := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	New(context.Background(), u, token, nil).WithBudget(budgets{
		{Registry: "ghcr.io", Remaining: -1, Limit: -1},
		{Registry: "index.docker.io", Remaining: 0, Limit: 100, Window: 6 * time.Hour, Seen: seen, Reset: seen.Add(6 * time.Hour), Failures: 2},
	}).Register(e)
	w := do(e, "GET", "/api/v1/registries", "Bearer "+token)
	var got []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := []string{
		`{"failures":0,"registry":"ghcr.io"}`,
		`{"failures":2,"limit":100,"registry":"index.docker.io","remaining":0,"reset":"2025-03-01T18:00:00Z","seen":"2025-03-01T12:00:00Z","window_seconds":21600}`,
	}
	for i, m := range got {
		b, _ := json.Marshal(m)
		if i >= len(want) || string(b) != want[i] {
			t.Errorf("registry %d: %s", i, b)
		}
	}
}

// Every known series is there at zero before anything happened.
func TestMetricsFromStart(t *testing.T) {
	v := newEnv(t)
	body := do(v.e, "GET", "/metrics", "").Body.String()
	for _, want := range []string{
		`hoist_rollouts_total{kind="service",outcome="succeeded"} 0`,
		`hoist_rollouts_total{kind="container",outcome="rolled_back"} 0`,
		`hoist_events_total{result="accepted",source="poll"} 0`,
		`hoist_manual_actions_total{action="approve",result="done"} 0`,
		`hoist_manual_actions_total{action="retry",result="refused"} 0`,
		"# TYPE hoist_manual_actions_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}
