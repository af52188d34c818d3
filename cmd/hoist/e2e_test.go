package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

func policyYAML(svc, extra string) string {
	return fmt.Sprintf(`policies:
  - name: e2e
    match: { services: [%q] }
    rollout: { parallelism: 1, delay: 1s, order: start-first, monitor: 2s }
    health: { watch: %s, timeout: 3m }
`, svc, extra)
}

// sampleMin samples the running-task count until stop is closed and returns the minimum.
func sampleMin(t *testing.T, tick time.Duration, f func() int) (min func() int, stop func()) {
	var lo atomic.Int64
	lo.Store(1 << 30)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			if n := int64(f()); n < lo.Load() {
				lo.Store(n)
			}
			select {
			case <-done:
				return
			case <-time.After(tick):
			}
		}
	}()
	return func() int { return int(lo.Load()) }, func() { close(done); <-finished }
}

// A Distribution notification for a pushed tag moves the service to the digest hoist
// resolves itself, and the running-task count never drops below the replicas
// (start-first).
func TestE2EDistributionWebhook(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-dist-", "", "stable", 2)
	dc, reg, svc := a.dc, a.reg, a.svc

	tok := randHex(16)
	h := startHoist(t, "poll: { interval: 0 }\nwebhooks:\n  distribution: { token: "+tok+" }\n"+policyYAML(svc, "5s"), nil)

	img2 := a.push(t, testenv.App{Version: "2"})
	min, stop := sampleMin(t, 100*time.Millisecond, func() int { return runningTasks(t, dc, svc, "") })

	// The payload names a digest that does not exist: hoist must ignore it.
	event := func(repo string) string { return distributionEvent(reg.Host, repo, "stable") }
	body := event(svc)
	hdr := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
	if code := post(t, h.URL+"/webhooks/distribution", map[string]string{"Authorization": "Bearer wrong-token-000000"}, body); code != 401 {
		t.Fatalf("wrong token: status %d, want 401", code)
	}
	if code := post(t, h.URL+"/webhooks/distribution", hdr, event("nobody-uses-this")); code != 202 {
		t.Fatalf("unwatched repository: status %d, want 202", code)
	}
	// A burst of 100 deliveries (distinct ids) for the tag within a second: one rollout.
	start := time.Now()
	var slowest time.Duration
	for i := 0; i < 100; i++ {
		t0 := time.Now()
		if code := post(t, h.URL+"/webhooks/distribution", hdr, event(svc)); code != 202 && code != 429 {
			t.Fatalf("webhook %d: status %d, want 202 (or 429 past the rate limit)", i, code)
		}
		slowest = max(slowest, time.Since(t0))
	}
	if slowest > time.Second {
		t.Errorf("a webhook was answered after %s; Distribution times out after 1s", slowest)
	}
	t.Logf("100 deliveries in %s, slowest answer %s", time.Since(start), slowest)
	r := h.waitRollout(t, "service/"+svc, 2*time.Minute)
	stop()
	if r.Outcome != updater.Succeeded {
		t.Fatalf("rollout outcome %s (%s), want succeeded", r.Outcome, r.Reason)
	}
	if r.Trigger != "distribution" || r.To != img2 {
		t.Errorf("rollout record: trigger %q to %q; want distribution to %q", r.Trigger, r.To, img2)
	}
	if got := serviceImage(t, dc, svc); got != img2 {
		t.Fatalf("service image %s, want %s", got, img2)
	}
	waitRunning(t, dc, svc, img2, 2, 30*time.Second)
	if m := min(); m < 2 {
		t.Errorf("running tasks dropped to %d during a start-first rollout of 2 replicas", m)
	}
	// Metrics count the rollout, its duration and the rejected request (labels are
	// hoist's own words only).
	mb := h.metrics(t)
	for _, want := range []string{
		`hoist_rollouts_total{kind="service",outcome="succeeded"} 1`,
		`hoist_rollout_duration_seconds_count{kind="service",outcome="succeeded"} 1`,
		`hoist_events_total{result="accepted",source="distribution"}`,
		`hoist_webhook_rejected_total{reason="unauthorized",source="distribution"} 1`,
		"# TYPE hoist_rollout_duration_seconds summary",
	} {
		if !strings.Contains(mb, want) {
			t.Errorf("metrics lack %s:\n%s", want, mb)
		}
	}
	// The same event again is a no-op: the service is already on the digest.
	post(t, h.URL+"/webhooks/distribution", hdr, event(svc))
	time.Sleep(3 * time.Second)
	if rs := h.rollouts(t, "service/"+svc); len(rs) != 1 {
		t.Errorf("%d rollouts after the burst and a duplicate event, want exactly 1: %+v", len(rs), rs)
	}
}

// Polling finds the new digest by itself.
func TestE2EPolling(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-poll-", "", "latest", 1)
	dc, svc := a.dc, a.svc
	h := startHoist(t, "poll: { interval: 1s }\n"+policyYAML(svc, "3s"), nil)

	want := a.push(t, testenv.App{Version: "2"})
	r := h.waitRollout(t, "service/"+svc, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.Trigger != "poll" {
		t.Fatalf("rollout %s via %s (%s), want succeeded via poll", r.Outcome, r.Trigger, r.Reason)
	}
	if got := serviceImage(t, dc, svc); got != want {
		t.Fatalf("service image %s, want %s", got, want)
	}
	waitRunning(t, dc, svc, want, 1, 30*time.Second)
}

// Bad images come back to the previous digest by themselves, whether Swarm notices the
// failure (crash, failing HEALTHCHECK) or not (a crash after Swarm's monitor window),
// and the failed digest is quarantined: several poll cycles later there is still only
// the one rollout.
func TestE2EBadImagesRollBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		app  testenv.App
	}{
		{"crash", testenv.App{Mode: testenv.Crash}},
		{"unhealthy", testenv.App{Mode: testenv.Unhealthy}},
		{"latecrash", testenv.App{Mode: testenv.LateCrash, CrashAfter: 6 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newSwarmApp(t, "e2e-"+tc.name+"-", "", "prod", 2)
			dc, svc, img1 := a.dc, a.svc, a.img1
			chat := newSink(t)
			h := startHoist(t, "poll: { interval: 1s }\nnotify: [ { url: "+chat.URL+", format: slack, on: [rolled_back, failed] } ]\n"+policyYAML(svc, "15s"), nil)

			bad := tc.app
			bad.Version = "2-" + tc.name
			// start-first keeps the old tasks running until new ones are healthy, so a
			// bad image that never becomes healthy never lowers the running count.
			min, stop := sampleMin(t, 100*time.Millisecond, func() int { return runningTasks(t, dc, svc, img1) })
			img2 := a.push(t, bad)
			r := h.waitRollout(t, "service/"+svc, 3*time.Minute)
			stop()
			if m := min(); m < 2 && tc.app.Mode != testenv.LateCrash {
				t.Errorf("tasks running the old image dropped to %d during a start-first rollout of a %s image", m, tc.name)
			}
			if r.Outcome != updater.RolledBack {
				t.Fatalf("outcome %s (%s), want rolled_back", r.Outcome, r.Reason)
			}
			if got := serviceImage(t, dc, svc); got != img1 {
				t.Fatalf("service image %s after rollback, want %s", got, img1)
			}
			waitRunning(t, dc, svc, img1, 2, 60*time.Second)

			// Several poll cycles later: no second rollout of the quarantined digest.
			time.Sleep(5 * time.Second)
			rs := h.rollouts(t, "service/"+svc)
			if len(rs) != 1 {
				t.Fatalf("%d rollouts, want exactly 1 (the digest must be quarantined): %+v", len(rs), rs)
			}
			if got := serviceImage(t, dc, svc); got != img1 {
				t.Fatalf("service image %s, want %s", got, img1)
			}
			// hoist check asks the running serve, which knows the digest is quarantined.
			var out, errb bytes.Buffer
			if err := run(context.Background(), []string{"check", "--json", "--config", h.Config}, os.Getenv, &out, &errb); err != nil {
				t.Fatalf("hoist check: %v\n%s", err, errb.String())
			}
			var sts []updater.Status
			if err := json.Unmarshal(out.Bytes(), &sts); err != nil {
				t.Fatalf("check output: %v\n%s", err, out.String())
			}
			found := false
			for _, st := range sts {
				if st.Workload.Name == svc {
					found = true
					if st.Action != updater.Quarantined || st.Target != img2 {
						t.Errorf("check says %s → %s (%s), want quarantined %s", st.Action, st.Target, st.Reason, img2)
					}
				}
			}
			if !found {
				t.Errorf("check did not list service %s: %s", svc, out.String())
			}
			// Alerting can see it: the policy has one quarantined workload.
			if mb := h.metrics(t); !strings.Contains(mb, `hoist_workloads{action="quarantined",policy="e2e"} 1`) {
				t.Errorf("metrics lack the quarantined workload:\n%s", mb)
			}
			// One message for the chat, none for the quarantined digest's later checks.
			var msg struct{ Text string }
			if got := chat.wait(t, 1); len(got) != 1 || json.Unmarshal([]byte(got[0]), &msg) != nil ||
				!strings.HasPrefix(msg.Text, "hoist: service/"+svc+" rolled back: ") || !strings.Contains(msg.Text, r.Reason) {
				t.Errorf("notifications %q; want one Slack text saying service/%s rolled back, and why", got, svc)
			}
			t.Logf("rolled back %s: %s", img2, r.Reason)
		})
	}
}

// A Docker Hub-shaped webhook (float timestamp, secret in the URL) moves a service whose
// images come through a mirror (webhooks.dockerhub.host).
func TestE2EDockerHubWebhook(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-hub-", "acme/", "latest", 1)
	dc, reg, svc := a.dc, a.reg, a.svc
	tok := randHex(16)
	h := startHoist(t, "poll: { interval: 0 }\nwebhooks:\n  dockerhub: { token: "+tok+", host: \""+reg.Host+"\" }\n"+policyYAML(svc, "3s"), nil)

	want := a.push(t, testenv.App{Version: "2"})
	body := fmt.Sprintf(`{"callback_url":"https://registry.hub.docker.com/u/acme/%s/hook/x/",
	  "push_data":{"images":[],"pushed_at":1.417566161e+09,"pusher":"alice","tag":"latest"},
	  "repository":{"repo_name":"acme/%s","namespace":"acme","name":%q,"is_private":true,"status":"Active","date_created":1.417494799e+09}}`, svc, svc, svc)
	if code := post(t, h.URL+"/webhooks/dockerhub/"+randHex(16), nil, body); code != 401 && code != 404 {
		t.Fatalf("wrong URL token: status %d, want 401", code)
	}
	if code := post(t, h.URL+"/webhooks/dockerhub/"+tok, map[string]string{"Content-Type": "application/json"}, body); code != 202 {
		t.Fatalf("webhook: status %d, want 202", code)
	}
	r := h.waitRollout(t, "service/"+svc, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.Trigger != "dockerhub" {
		t.Fatalf("rollout %s via %s (%s), want succeeded via dockerhub", r.Outcome, r.Trigger, r.Reason)
	}
	if got := serviceImage(t, dc, svc); got != want {
		t.Fatalf("service image %s, want %s", got, want)
	}
}
