package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
)

// A reload changes tokens and sources for the deliveries that follow: the old token is
// refused, the new one taken, a source added is mounted and one removed answers 404.
// Delivery ids seen before the reload are still duplicates after it.
func TestReloadSources(t *testing.T) {
	h := newHarness(t, config.Webhooks{Quay: &config.TokenSource{Token: tok}, Generic: &config.SecretSource{Secret: secret}})
	body := fixture(t, "quay", "push")
	if w := h.do(post("/webhooks/quay/"+tok, body)); w.Code != 202 {
		t.Fatalf("before: %d %s", w.Code, w.Body)
	}
	gen := validRequest("generic", []byte(`{"image":"registry.example.com/team/app:1.0"}`))
	gen.Header.Set("X-Hoist-Delivery", "d-1")
	if w := h.do(gen); w.Code != 202 {
		t.Fatalf("generic before: %d %s", w.Code, w.Body)
	}

	const newTok = "abcdefabcdefabcdefabcdefabcdefab"
	h.s.Reload(config.Webhooks{Quay: &config.TokenSource{Token: newTok}, Generic: &config.SecretSource{Secret: secret},
		DockerHub: &config.DockerHubSource{Token: newTok}})
	for _, c := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"old token", post("/webhooks/quay/"+tok, body), 401},
		{"new token", post("/webhooks/quay/"+newTok, body), 202},
		{"added source", post("/webhooks/dockerhub/"+newTok, fixture(t, "dockerhub", "push")), 202},
		{"added source, no token", post("/webhooks/dockerhub", fixture(t, "dockerhub", "push")), 401},
		{"token on a header source", post("/webhooks/generic/x", nil), 404},
	} {
		if w := h.do(c.req); w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
	}
	gen = validRequest("generic", []byte(`{"image":"registry.example.com/team/app:1.0"}`))
	gen.Header.Set("X-Hoist-Delivery", "d-1")
	if w := h.do(gen); w.Code != 202 || !strings.Contains(w.Body.String(), "duplicate") {
		t.Errorf("redelivery across the reload: %d %s, want a duplicate", w.Code, w.Body)
	}

	h.s.Reload(config.Webhooks{Generic: &config.SecretSource{Secret: secret}})
	if w := h.do(post("/webhooks/quay/"+newTok, body)); w.Code != 404 {
		t.Errorf("removed source: %d %s", w.Code, w.Body)
	}
	if got := h.s.Sources(); len(got) != 1 || got[0] != "generic" {
		t.Errorf("sources %v", got)
	}
}

// The Watchtower trigger's token changes by reload; without one it answers 404.
func TestReloadWatchtower(t *testing.T) {
	w := NewWatchtower(config.Webhooks{Watchtower: &config.WatchtowerSource{Token: tok}}, &fakeSink{}, func(string) {}, zerolog.Nop())
	e := echo.New()
	w.Register(e)
	do := func(token string) int {
		req := httptest.NewRequest(http.MethodPost, WatchtowerPath, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	const newTok = "abcdefabcdefabcdefabcdefabcdefab"
	if !w.Reload(config.Webhooks{Watchtower: &config.WatchtowerSource{Token: newTok}}) {
		t.Fatal("reload refused")
	}
	if got := do(tok); got != 401 {
		t.Errorf("old token: %d", got)
	}
	if got := do(newTok); got != 202 {
		t.Errorf("new token: %d", got)
	}
	w.Reload(config.Webhooks{})
	if got := do(newTok); got != 404 {
		t.Errorf("removed: %d", got)
	}
	var none *Watchtower
	if none.Reload(config.Webhooks{Watchtower: &config.WatchtowerSource{Token: newTok}}) {
		t.Error("a trigger not mounted at start cannot be mounted by a reload")
	}
}

// Reloads while deliveries arrive drop none: each is answered under the sources in
// force when it arrived, and the same token stays accepted throughout.
func TestReloadUnderLoad(t *testing.T) {
	cfg := config.Webhooks{Quay: &config.TokenSource{Token: tok}, Limits: config.WebhookLimits{Rate: 100000, Burst: 100000}}
	h := newHarness(t, cfg)
	body := fixture(t, "quay", "push")
	stop := make(chan struct{})
	done := make(chan struct{})
	var n atomic.Int64 // reloads so far
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				h.s.Reload(cfg)
				n.Add(1)
			}
		}
	}()
	// Half the deliveries go out only once the reloads have begun, and the second half
	// only once more reloads came after the first half: reloads and deliveries overlap
	// however the machine schedules them.
	waitReloads := func(more int64) {
		want := n.Load() + more
		for deadline := time.Now().Add(10 * time.Second); n.Load() < want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no reload happened during the deliveries")
			}
		}
	}
	waitReloads(1)
	for i := 0; i < 500; i++ {
		if i == 250 {
			waitReloads(1)
		}
		if w := h.do(post("/webhooks/quay/"+tok, body)); w.Code != 202 {
			t.Fatalf("delivery %d during reloads: %d %s", i, w.Code, w.Body)
		}
	}
	close(stop)
	<-done
}
