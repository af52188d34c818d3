package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// stagedApp is two services of one repository:tag: one governed by policy staging, one
// by policy production, which comes after staging. Production is never polled: what
// reaches it comes through promotion alone.
type stagedApp struct {
	*swarmApp
	prd string // the production service
}

func newStagedApp(t *testing.T, prefix string) *stagedApp {
	t.Helper()
	a := &stagedApp{swarmApp: newSwarmApp(t, prefix+"stg-", "", "stable", 1)}
	a.prd = prefix + "prd-" + randHex(3)
	createService(t, a.dc, a.prd, a.img1, 1, nil)
	return a
}

// config is hoist's file for the two services: staging polled every second,
// production after staging with soak, and extra (a gate) on production.
func (a *stagedApp) config(soak time.Duration, extra string) string {
	return fmt.Sprintf(`poll: { interval: 1s }
policies:
  - name: staging
    match: { services: [%q] }
    rollout: { parallelism: 1, delay: 1s, order: start-first, monitor: 2s }
    health: { watch: 2s, timeout: 3m }
  - name: production
    match: { services: [%q] }
    interval: 0
    rollout: { parallelism: 1, delay: 1s, order: start-first, monitor: 2s }
    health: { watch: 2s, timeout: 3m }
    when: { after: { policy: staging, soak: %s } }
%s`, a.svc, a.prd, soak, extra)
}

// waitRolloutTo waits for workload's rollout to image to end and returns it.
func (h *hoistProc) waitRolloutTo(t *testing.T, workload, image string, timeout time.Duration) updater.Rollout {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range h.rollouts(t, workload) {
			if r.To == image && r.Outcome != updater.Running {
				return r
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no ended rollout of %s to %s within %s", workload, image, timeout)
	return updater.Rollout{}
}

// waitStatus polls the API until ok accepts key's status, and returns it.
func (h *hoistProc) waitStatus(t *testing.T, key, what string, timeout time.Duration, ok func(updater.Status) bool) updater.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := h.status(t, key)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s → %s (%s); want %s", key, st.Action, st.Target, st.Reason, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A digest that fails in staging never reaches production; one that succeeds there
// reaches production by itself, without a new push, once it ran its soak in staging,
// and a hoist restarted during the soak keeps the soak's clock.
func TestE2EPromotion(t *testing.T) {
	t.Parallel()
	const soak = 10 * time.Second
	a := newStagedApp(t, "e2e-promo-")
	dir := t.TempDir()
	h, stop := startHoistAt(t, dir, a.config(soak, ""), nil)
	stg, prd := "service/"+a.svc, "service/"+a.prd

	// A bad image: staging rolls it back, production refuses it too.
	bad := a.push(t, testenv.App{Version: "2-bad", Mode: testenv.Crash})
	if r := h.waitRolloutTo(t, stg, bad, 3*time.Minute); r.Outcome != updater.RolledBack {
		t.Fatalf("staging: %s (%s), want rolled_back", r.Outcome, r.Reason)
	}
	st := h.waitStatus(t, prd, "quarantined for the failure in staging", 30*time.Second, func(st updater.Status) bool {
		return st.Action == updater.Quarantined && st.Target == bad
	})
	if !strings.Contains(st.Reason, "failed in staging: "+stg) {
		t.Fatalf("production quarantined %s for %q; want the failure in staging named", bad, st.Reason)
	}
	if rs := h.rollouts(t, prd); len(rs) != 0 || serviceImage(t, a.dc, a.prd) != a.img1 {
		t.Fatalf("production after a failure in staging: %d rollouts, image %s; want none, %s", len(rs), serviceImage(t, a.dc, a.prd), a.img1)
	}

	// A good image: staging takes it, production waits for the soak.
	good := a.push(t, testenv.App{Version: "3"})
	rs := h.waitRolloutTo(t, stg, good, 3*time.Minute)
	if rs.Outcome != updater.Succeeded {
		t.Fatalf("staging: %s (%s), want succeeded", rs.Outcome, rs.Reason)
	}
	soakEnds := rs.Ended.Add(soak)
	st = h.waitStatus(t, prd, "awaiting-promotion", 30*time.Second, func(st updater.Status) bool {
		return st.Action == updater.AwaitingPromotion && st.Target == good
	})
	if !strings.HasPrefix(st.Reason, "waiting for staging (soak ") || !st.NotBefore.Equal(soakEnds) {
		t.Fatalf("production waits: %q until %s; want the soak left, until %s", st.Reason, st.NotBefore, soakEnds)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"check", "--config", h.Config}, os.Getenv, &out, &errb); err != nil ||
		!strings.Contains(out.String(), "awaiting-promotion") || !strings.Contains(out.String(), "waiting for staging (soak ") {
		t.Fatalf("hoist check: %v\n%s%s", err, out.String(), errb.String())
	}

	// Restart hoist halfway through the soak.
	for time.Until(soakEnds) > soak/2 {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	restarted := time.Now()
	h2, _ := startHoistAt(t, dir, a.config(soak, ""), nil)
	if st := h2.status(t, prd); st.Action != updater.AwaitingPromotion || !st.NotBefore.Equal(soakEnds) {
		t.Fatalf("after a restart: %s (%s) until %s; want the same soak, until %s", st.Action, st.Reason, st.NotBefore, soakEnds)
	}
	rp := h2.waitRolloutTo(t, prd, good, 2*time.Minute)
	if rp.Outcome != updater.Succeeded || rp.Trigger != string(updater.TriggerPromote) || serviceImage(t, a.dc, a.prd) != good {
		t.Fatalf("production: %s by %q (%s), image %s; want succeeded by promote, %s", rp.Outcome, rp.Trigger, rp.Reason, serviceImage(t, a.dc, a.prd), good)
	}
	if rp.Started.Before(soakEnds) {
		t.Fatalf("production started %s before the soak ended", soakEnds.Sub(rp.Started))
	}
	if limit := restarted.Add(soak - time.Second); !rp.Started.Before(limit) {
		t.Fatalf("production started %s after the restart: the soak's clock began again", rp.Started.Sub(restarted))
	}
	for _, r := range h2.rollouts(t, prd) {
		if r.To == bad {
			t.Fatalf("production ran the digest that failed in staging: %+v", r)
		}
	}
	t.Logf("staging succeeded %s; soak %s; hoist restarted %s into it; production started %s after the soak ended",
		rs.Ended.Format(time.TimeOnly), soak, restarted.Sub(rs.Ended).Round(time.Millisecond), rp.Started.Sub(soakEnds).Round(time.Millisecond))
}

// promServer answers /api/v1/query as Prometheus does: one sample, the value *v, for
// the query it expects; it counts the queries.
func promServer(t *testing.T, query string, v *atomic.Uint64, n *atomic.Int32) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/api/v1/query" || r.Form.Get("query") != query {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"unexpected query"}`)
			return
		}
		n.Add(1)
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"web"},"value":[%d,"%g"]}]}}`,
			time.Now().Unix(), math.Float64frombits(v.Load()))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A metric gate on production is asked during the soak: while its query stays below
// the threshold the digest goes on (its reading in production's record); when it
// crosses, production refuses the digest, saying the query and its value.
func TestE2EPromotionGate(t *testing.T) {
	t.Parallel()
	const soak = 6 * time.Second
	const query = `sum(rate(http_errors_total{job="web"}[1m])) / sum(rate(http_requests_total{job="web"}[1m]))`
	var value atomic.Uint64
	var asked atomic.Int32
	value.Store(math.Float64bits(0.01))
	url := promServer(t, query, &value, &asked)
	a := newStagedApp(t, "e2e-gate-")
	gate := fmt.Sprintf("    gate: { prometheus: { url: %q, query: %q, below: 0.05, every: 1s } }\n", url, query)
	h := startHoist(t, a.config(soak, gate), nil)
	stg, prd := "service/"+a.svc, "service/"+a.prd

	// Below the threshold all along: production gets it, with the reading recorded.
	v2 := a.push(t, testenv.App{Version: "2"})
	if r := h.waitRolloutTo(t, stg, v2, 3*time.Minute); r.Outcome != updater.Succeeded {
		t.Fatalf("staging: %s (%s)", r.Outcome, r.Reason)
	}
	rp := h.waitRolloutTo(t, prd, v2, 2*time.Minute)
	if rp.Outcome != updater.Succeeded || !strings.Contains(rp.Gate, query) || !strings.Contains(rp.Gate, "= 0.01, below 0.05") {
		t.Fatalf("production: %s (%s), gate %q; want succeeded with the query's reading", rp.Outcome, rp.Reason, rp.Gate)
	}
	if n := asked.Load(); n < int32(soak/time.Second)/2 {
		t.Fatalf("the gate was asked %d times during a %s soak with every: 1s", n, soak)
	}

	// The next digest: the error ratio crosses the threshold during its soak.
	v3 := a.push(t, testenv.App{Version: "3"})
	if r := h.waitRolloutTo(t, stg, v3, 3*time.Minute); r.Outcome != updater.Succeeded {
		t.Fatalf("staging: %s (%s)", r.Outcome, r.Reason)
	}
	h.waitStatus(t, prd, "awaiting-promotion", 30*time.Second, func(st updater.Status) bool {
		return st.Action == updater.AwaitingPromotion && st.Target == v3
	})
	value.Store(math.Float64bits(0.2))
	held := h.waitRolloutTo(t, prd, v3, time.Minute)
	if held.Outcome != updater.RefusedOutcome || !strings.Contains(held.Reason, query) || !strings.Contains(held.Reason, "= 0.2, not below 0.05") || held.Gate == "" {
		t.Fatalf("production held: %s (%s), gate %q; want refused naming the query and its value", held.Outcome, held.Reason, held.Gate)
	}
	st := h.waitStatus(t, prd, "quarantined", 30*time.Second, func(st updater.Status) bool { return st.Action == updater.Quarantined })
	if serviceImage(t, a.dc, a.prd) != v2 {
		t.Fatalf("production runs %s after the gate held %s; want %s", serviceImage(t, a.dc, a.prd), v3, v2)
	}
	t.Logf("gate asked %d times; held: %s; then %s", asked.Load(), held.Reason, st.Reason)
}
