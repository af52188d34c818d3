package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// hangingRegistry is ggcr's in-process registry behind a switch: while it is on, every
// request hoist sends (anything whose User-Agent is not the engine's "docker/…") is
// accepted and never answered, until hoist hangs up. It records how long hoist held
// each such request open.
type hangingRegistry struct {
	Host string
	on   atomic.Bool

	mu   sync.Mutex
	held []time.Duration // requests hoist gave up on, by how long they were open
}

func newHangingRegistry(t *testing.T) *hangingRegistry {
	t.Helper()
	r := &hangingRegistry{}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.on.Load() || strings.HasPrefix(req.UserAgent(), "docker/") {
			inner.ServeHTTP(w, req)
			return
		}
		start := time.Now()
		select {
		case <-req.Context().Done():
			r.mu.Lock()
			r.held = append(r.held, time.Since(start))
			r.mu.Unlock()
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: no handler outlives the test
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *hangingRegistry) abandoned() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.held...)
}

// checkNow runs POST /api/v1/check and returns what it answered.
func (h *hoistProc) checkNow(t *testing.T) []updater.Status {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/check", nil)
	req.Header.Set("Authorization", "Bearer "+h.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/check: %s %s", resp.Status, body)
	}
	var sts []updater.Status
	if err := json.Unmarshal(body, &sts); err != nil {
		t.Fatalf("POST /api/v1/check: %v\n%s", err, body)
	}
	return sts
}

// A registry that accepts connections and never answers, configured with
// timeout: 2s: a check ends within the timeout (plus the http fallback of the ping and
// some slack) with an error naming the registry; a push event's digest check fails
// the same way and is logged with the registry's name; nothing rolls out and the
// service keeps its spec. Once the registry answers again, the next check rolls out:
// the failure was retryable, not final.
func TestE2ERegistryHangs(t *testing.T) {
	t.Parallel()
	dc := testenv.Shared(t).Docker
	reg := newHangingRegistry(t)
	svc := "e2e-hang-" + randHex(3)
	key := "service/" + svc
	repo := reg.Host + "/" + svc
	d1 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "1"})
	img1 := repo + ":stable@" + d1.String()
	createService(t, dc, svc, img1, 1, nil)
	d2 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "2"})
	img2 := repo + ":stable@" + d2.String()

	reg.on.Store(true)
	const timeout, slack = 2 * time.Second, 3 * time.Second
	tok := randHex(16)
	h := startHoist(t, fmt.Sprintf("poll: { interval: 0 }\nregistries:\n  - { host: %q, timeout: %s }\nwebhooks:\n  distribution: { token: %s }\n",
		reg.Host, timeout, tok)+policyYAML(svc, "3s"), nil)
	noAnswer := "registry " + reg.Host + " did not answer within " + timeout.String()

	start := time.Now()
	sts := h.checkNow(t)
	took := time.Since(start)
	t.Logf("POST /api/v1/check against the hanging registry took %s", took.Round(time.Millisecond))
	if took > timeout+slack {
		t.Errorf("POST /api/v1/check took %s; the registry's timeout is %s", took, timeout)
	}
	var st *updater.Status
	for i := range sts {
		if sts[i].Workload.Key() == key {
			st = &sts[i]
		}
	}
	if st == nil || st.Action != updater.CheckError || !strings.Contains(st.Reason, noAnswer) {
		t.Fatalf("check of %s: %+v; want action %q saying %q", key, st, updater.CheckError, noAnswer)
	}

	// A push event: the rollout's own digest check fails too, and the log names the
	// registry.
	hdr := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
	start = time.Now()
	if code := post(t, h.URL+"/webhooks/distribution", hdr, distributionEvent(reg.Host, svc, "stable")); code != 202 {
		t.Fatalf("webhook: status %d, want 202", code)
	}
	for !logged(h.logs.String(), "check failed: ", noAnswer) {
		if time.Since(start) > timeout+slack {
			t.Fatalf("no \"check failed\" naming the registry (%s) logged within %s", noAnswer, timeout+slack)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("push event's digest check failed and was logged after %s", time.Since(start).Round(time.Millisecond))

	if rs := h.rollouts(t, key); len(rs) != 0 {
		t.Errorf("rollouts while the registry hangs: %+v", rs)
	}
	if got := serviceImage(t, dc, svc); got != img1 {
		t.Errorf("service image %s while the registry hangs, want %s", got, img1)
	}
	held := reg.abandoned()
	if len(held) == 0 {
		t.Error("hoist sent the hanging registry nothing")
	}
	for _, d := range held {
		if d > timeout+time.Second {
			t.Errorf("hoist held a request open for %s; its timeout is %s", d, timeout)
		}
	}
	t.Logf("%d requests abandoned by hoist, held %v", len(held), held)

	// The registry answers again: once its pause has passed, a check rolls out.
	reg.on.Store(false)
	time.Sleep(time.Until(budgetOf(t, h, reg.Host).PausedUntil))
	if st := h.status(t, key); st.Action != updater.WouldUpdate || st.Target != img2 {
		t.Fatalf("after the registry recovered: %s to %s (%s); want %s to %s", st.Action, st.Target, st.Reason, updater.WouldUpdate, img2)
	}
	h.check(t)
	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != img2 {
		t.Fatalf("rollout after recovery: %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, img2)
	}
}

// logged reports whether one line of a JSON log holds every one of parts.
func logged(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}
