package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

const token = "0123456789abcdef0123456789abcdef"

// newAPI wires the API to a real updater with no workloads and a real store.
func newAPI(t *testing.T) *echo.Echo {
	t.Helper()
	store, err := updater.OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	u := updater.New(updater.Options{Policies: policy.NewSet(), Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	e := echo.New()
	m := NewMetrics()
	m.Inc("hoist_rollouts_total", "kind", "service", "outcome", "succeeded")
	New(context.Background(), u, token, m).Register(e)
	return e
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

func TestAuthAndRoutes(t *testing.T) {
	e := newAPI(t)
	cases := []struct {
		method, path, auth string
		code               int
		body               string
	}{
		{"GET", "/healthz", "", 200, `"ok"`},
		{"GET", "/metrics", "", 200, `hoist_rollouts_total{kind="service",outcome="succeeded"} 1`},
		{"GET", "/api/v1/rollouts", "", 401, "bearer token"},
		{"GET", "/api/v1/rollouts", "Bearer wrong", 401, "bearer token"},
		{"GET", "/api/v1/rollouts", "Bearer " + token + "x", 401, "bearer token"},
		{"GET", "/api/v1/rollouts", token, 401, "bearer token"},
		{"GET", "/api/v1/rollouts", "Bearer " + token, 200, "[]"},
		{"GET", "/api/v1/workloads", "Bearer " + token, 200, "[]"},
		{"GET", "/api/v1/registries", "Bearer " + token, 200, "[]"},
		{"POST", "/api/v1/workloads/pod/x/rollback", "Bearer " + token, 400, "kind must be service or container"},
		{"POST", "/api/v1/workloads/service/nope/rollback", "Bearer " + token, 404, "no such workload"},
		{"POST", "/api/v1/workloads/container/nope/finish", "Bearer " + token, 404, "no such workload"},
		{"DELETE", "/api/v1/workloads/service/nope/quarantine", "Bearer " + token, 404, "nothing quarantined"},
		{"POST", "/api/v1/workloads/service/nope/approve", "Bearer " + token, 404, "no such workload"},
		{"POST", "/api/v1/workloads/service/nope/approve", "", 401, "bearer token"},
	}
	for _, c := range cases {
		w := do(e, c.method, c.path, c.auth)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("%s %s (auth %q): %d %s, want %d containing %q", c.method, c.path, c.auth, w.Code, w.Body, c.code, c.body)
		}
	}
}

// Without a token the API is not mounted at all; health and metrics stay.
func TestNoTokenNoAPI(t *testing.T) {
	store, err := updater.OpenStore(t.TempDir(), false)
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
