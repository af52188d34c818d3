package swarm

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/store"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/webhook"
)

// holdListing holds the engine's service listings while armed: each waits until
// release is closed. held is closed when the first one arrives.
type holdListing struct {
	base     http.RoundTripper
	armed    atomic.Bool
	heldOnce sync.Once
	held     chan struct{}
	release  chan struct{}
}

func (h *holdListing) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.armed.Load() && req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/services") {
		h.heldOnce.Do(func() { close(h.held) })
		select {
		case <-h.release:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return h.base.RoundTrip(req)
}

// TestEnqueueNeverWaitsOnTheEngine: while the engine takes 10 s to list the services,
// 1,000 webhook events (pushes of as many tags a semver policy follows) are all
// accepted at once, and coalesce into one rollout once the listing returns.
func TestEnqueueNeverWaitsOnTheEngine(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("1.0.0", testenv.App{Version: "1"})
	e.push("1.1.0", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 1)

	hold := &holdListing{held: make(chan struct{}), release: make(chan struct{})}
	hold.armed.Store(true)
	c := testenv.DockerThrough(t, func(base http.RoundTripper) http.RoundTripper { hold.base = base; return hold })
	rule, err := policy.NewRule("follow", []string{w.Name}, nil, nil, policy.Semver, "^1")
	if err != nil {
		t.Fatal(err)
	}
	store, err := store.Open[updater.Plan](t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	u := updater.New(updater.Options{
		Backends: []updater.Backend{New(c)}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{"follow": fastPlan()}, Resolver: registry.New(registry.Options{}),
		Store: store, Log: e.log,
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { u.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })

	const secret = "an-hmac-secret-of-enough-length-0123456789"
	cfg := config.Webhooks{Generic: &config.SecretSource{Secret: config.Secret(secret)},
		Limits: config.WebhookLimits{Rate: 100000, Burst: 2000}}
	router := echo.New()
	webhook.New(cfg, u, zerolog.Nop()).Register(router)

	// The updater's first listing (resuming what a previous hoist left) is in flight.
	select {
	case <-hold.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the updater never listed the services")
	}
	heldAt := time.Now()
	releaseAt := time.AfterFunc(10*time.Second, func() { hold.armed.Store(false); close(hold.release) })
	defer releaseAt.Stop()

	const n = 1000
	start := time.Now()
	var slowest time.Duration
	for i := 0; i < n; i++ {
		body := []byte(fmt.Sprintf(`{"image":"%s/app:1.0.%d"}`, e.reg.Host, i+1))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req := httptest.NewRequest(http.MethodPost, "/webhooks/generic", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hoist-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		t0 := time.Now()
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		slowest = max(slowest, time.Since(t0))
		if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"accepted"`) {
			t.Fatalf("event %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	total := time.Since(start)
	t.Logf("%d events accepted in %s (slowest %s) while the service listing was held", n, total, slowest)
	// Idle, the 1,000 take 40–60 ms; a loaded shared machine has been seen at 0.5 s.
	// An Enqueue that waits on the held listing takes the whole 10 s.
	if total > 2*time.Second {
		t.Errorf("%d events took %s, want well under the 10s the listing is held: Enqueue waited", n, total)
	}
	if time.Since(heldAt) >= 10*time.Second {
		t.Fatal("the listing was released before the events were all sent")
	}

	// Once the listing returns: one rollout, to the newest tag the range allows.
	want := e.reg.Host + "/app:1.1.0"
	var rs []updater.Rollout
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if rs, err = store.Rollouts(w.Key(), 0); err != nil {
			t.Fatal(err)
		}
		if len(rs) > 0 && rs[0].Outcome != updater.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rollout ended: %+v", rs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if rs[0].Outcome != updater.Succeeded || !strings.HasPrefix(rs[0].To, want+"@") {
		t.Fatalf("rollout %+v, want succeeded to %s", rs[0], want)
	}
	if time.Since(heldAt) < 10*time.Second {
		t.Errorf("the rollout ended before the listing returned")
	}
	cancel()
	<-stopped
	if rs, _ = store.Rollouts(w.Key(), 0); len(rs) != 1 {
		t.Errorf("%d rollouts, want the events coalesced into one: %+v", len(rs), rs)
	}
}
