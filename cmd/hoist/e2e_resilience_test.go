package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// refusingRegistry is ggcr's in-process registry behind a switch: while it is on, every
// manifest request is answered with status (and Retry-After when set). It records the
// manifest requests hoist makes (anything whose User-Agent is not the engine's
// "docker/…"), so the engine's own pulls are not counted.
type refusingRegistry struct {
	Host       string
	status     int
	retryAfter string
	on         atomic.Bool

	mu    sync.Mutex
	heads []time.Time // hoist's manifest HEADs while on
	gets  int         // hoist's manifest GETs while on
}

func newRefusingRegistry(t *testing.T, status int, retryAfter string) *refusingRegistry {
	t.Helper()
	r := &refusingRegistry{status: status, retryAfter: retryAfter}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		manifest := strings.Contains(req.URL.Path, "/manifests/")
		if !manifest || !r.on.Load() {
			inner.ServeHTTP(w, req)
			return
		}
		if !strings.HasPrefix(req.UserAgent(), "docker/") {
			r.mu.Lock()
			switch req.Method {
			case http.MethodHead:
				r.heads = append(r.heads, time.Now())
			case http.MethodGet:
				r.gets++
			}
			r.mu.Unlock()
		}
		if r.retryAfter != "" {
			w.Header().Set("Retry-After", r.retryAfter)
		}
		w.WriteHeader(r.status)
	}))
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *refusingRegistry) seen() (heads []time.Time, gets int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.heads...), r.gets
}

// A registry that answers 429 (Retry-After: 2) or 503 (no Retry-After) to every digest
// check: hoist must not roll out, must never fall back to a GET, and must back off as
// docs/polling.md promises — no request while paused, the pause at least the
// Retry-After and at least the jittered exponential backoff ([d/2, d], d = 1s, 2s,
// 4s, …). /api/v1/registries shows the failure streak. Once the registry answers
// again, the rollout happens.
func TestE2ERegistryRateLimited(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		status     int
		retryAfter time.Duration
		maxHeads   int // within the 8 s window, by the promised minimum gaps
	}{
		// Gaps at least max(2s, backoff lower bound): 2, 2, 2, 4 → HEADs at ≥ 0, 2, 4, 6, 10.
		{"429", http.StatusTooManyRequests, 2 * time.Second, 4},
		// Gaps at least 0.5, 1, 2, 4, 8 → HEADs at ≥ 0, 0.5, 1.5, 3.5, 7.5, 15.5.
		{"503", http.StatusServiceUnavailable, 0, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dc := testenv.Shared(t).Docker
			ra := ""
			if tc.retryAfter > 0 {
				ra = strconv.Itoa(int(tc.retryAfter / time.Second))
			}
			reg := newRefusingRegistry(t, tc.status, ra)
			svc := "e2e-ratelimit-" + tc.name + "-" + randHex(3)
			repo := reg.Host + "/" + svc
			d1 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "1"})
			img1 := repo + ":stable@" + d1.String()
			createService(t, dc, svc, img1, 1, nil)
			d2 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "2"})
			img2 := repo + ":stable@" + d2.String()

			reg.on.Store(true)
			h := startHoist(t, "poll: { interval: 1s }\n"+policyYAML(svc, "3s"), nil)

			// Watch for 8 s from hoist's first digest check.
			deadline := time.Now().Add(10 * time.Second)
			for {
				if heads, _ := reg.seen(); len(heads) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("hoist sent no digest check within 10s")
				}
				time.Sleep(50 * time.Millisecond)
			}
			heads, _ := reg.seen()
			window := 8 * time.Second
			time.Sleep(time.Until(heads[0].Add(window)))
			heads, gets := reg.seen()

			if rs := h.rollouts(t, "service/"+svc); len(rs) != 0 {
				t.Errorf("rollouts while the registry refuses: %+v", rs)
			}
			if got := serviceImage(t, dc, svc); got != img1 {
				t.Errorf("service image %s while the registry refuses, want %s", got, img1)
			}
			if gets != 0 {
				t.Errorf("hoist sent %d manifest GETs (pulls); a failed HEAD must not fall back to GET", gets)
			}
			var inWindow []time.Time
			for _, at := range heads {
				if at.Sub(heads[0]) <= window {
					inWindow = append(inWindow, at)
				}
			}
			gaps := make([]string, 0, len(heads))
			for i := 1; i < len(heads); i++ {
				gap := heads[i].Sub(heads[i-1])
				gaps = append(gaps, gap.Round(10*time.Millisecond).String())
				// After the i-th failure in a row the pause is jitter(1s << (i-1)), at
				// least half of that, and at least Retry-After.
				want := max(time.Second<<(i-1)/2, tc.retryAfter)
				if gap < want-20*time.Millisecond {
					t.Errorf("HEAD %d came %s after the one before; the backoff after %d failures is at least %s", i+1, gap, i, want)
				}
			}
			t.Logf("%d HEADs in %s (gaps %v), 0 GETs; 1s polling without backoff would send %d+",
				len(inWindow), window, gaps, int(window/time.Second))
			if len(inWindow) < 2 {
				t.Errorf("%d HEADs in %s: hoist stopped probing the registry", len(inWindow), window)
			}
			if len(inWindow) > tc.maxHeads {
				t.Errorf("%d HEADs in %s, want at most %d with backoff", len(inWindow), window, tc.maxHeads)
			}

			b := budgetOf(t, h, reg.Host)
			if b.Failures == 0 && !b.PausedUntil.After(time.Now()) {
				t.Errorf("GET /api/v1/registries shows %s neither failing nor paused: %+v", reg.Host, b)
			}
			t.Logf("budget: %d failures in a row, paused until %s", b.Failures, b.PausedUntil.Format(time.StampMilli))

			// The registry recovers: the next probe gets through and the rollout happens.
			reg.on.Store(false)
			r := h.waitRollout(t, "service/"+svc, 40*time.Second)
			if r.Outcome != updater.Succeeded || r.To != img2 {
				t.Fatalf("rollout after recovery: %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, img2)
			}
			if got := serviceImage(t, dc, svc); got != img2 {
				t.Fatalf("service image %s, want %s", got, img2)
			}
			if b := budgetOf(t, h, reg.Host); b.Failures != 0 {
				t.Errorf("failure streak %d after the registry recovered", b.Failures)
			}
		})
	}
}

// apiBudget is what GET /api/v1/registries says of one registry.
type apiBudget struct {
	Registry    string    `json:"registry"`
	PausedUntil time.Time `json:"paused_until"`
	Failures    int       `json:"failures"`
}

// budgetOf returns what GET /api/v1/registries says about host.
func budgetOf(t *testing.T, h *hoistProc, host string) apiBudget {
	t.Helper()
	var bs []apiBudget
	h.getJSON(t, "/api/v1/registries", &bs)
	for _, b := range bs {
		if b.Registry == host {
			return b
		}
	}
	t.Fatalf("GET /api/v1/registries has no entry for %s: %+v", host, bs)
	return apiBudget{}
}

// Stopping hoist in the middle of a rollout hands it over: serve returns within the
// shutdown grace without rolling back, Swarm carries on, the record stays running, and
// the next hoist on the same data_dir resumes it to its end — one record, succeeded.
func TestE2EShutdownMidRollout(t *testing.T) {
	t.Parallel()
	const replicas = 2
	a := newSwarmApp(t, "e2e-shutdown-", "", "stable", replicas)
	dc, svc, img1 := a.dc, a.svc, a.img1
	pol := fmt.Sprintf(`policies:
  - name: e2e
    match: { services: [%q] }
    rollout: { delay: 2s, monitor: 2s }
    health: { watch: 10s, timeout: 3m }
`, svc)
	dir := t.TempDir()
	h, stop := startHoistAt(t, dir, "poll: { interval: 1s }\n"+pol, nil)

	img2 := a.push(t, testenv.App{Version: "2"})
	key := "service/" + svc
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs := h.rollouts(t, key)
		if len(rs) > 0 && rs[0].Outcome == updater.Running {
			break
		}
		if len(rs) > 0 {
			t.Fatalf("rollout ended before the shutdown: %+v", rs[0])
		}
		if time.Now().After(deadline) {
			t.Fatal("no running rollout within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("rollout running, running tasks: v1 %d, v2 %d; stopping hoist",
		runningTasks(t, dc, svc, img1), runningTasks(t, dc, svc, img2))
	took := stop()
	t.Logf("hoist serve returned %s after the cancel", took.Round(100*time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("serve returned %s after the cancel, past Docker's default stop timeout (10 s)", took)
	}

	if us := inspectService(t, dc, svc).UpdateStatus; us != nil && strings.HasPrefix(string(us.State), "rollback") {
		t.Errorf("after shutdown Swarm's update state is %s (%s): the stop rolled the service back", us.State, us.Message)
	}

	// A new hoist on the same store resumes the record to its end.
	h2, _ := startHoistAt(t, dir, "poll: { interval: 0 }\n"+pol, nil)
	var r updater.Rollout
	waitFor(t, "the resumed record ended", 2*time.Minute, func() bool {
		rs := h2.rollouts(t, key)
		if len(rs) != 1 {
			t.Fatalf("%d rollout records after restart, want 1: %+v", len(rs), rs)
		}
		r = rs[0]
		return r.Outcome != updater.Running
	})
	t.Logf("record after restart: %s (%s), restarts %d, ended %s", r.Outcome, r.Reason, r.Restarts, r.Ended.Format(time.StampMilli))
	if r.Outcome != updater.Succeeded || r.Ended.IsZero() {
		t.Errorf("record %s (%s), want succeeded with an end time", r.Outcome, r.Reason)
	}
	if got := serviceImage(t, dc, svc); got != img2 || runningTasks(t, dc, svc, img2) != replicas {
		t.Errorf("service on %s with %d tasks on v2, want v2 on every replica", got, runningTasks(t, dc, svc, img2))
	}
}

// hoist check makes one pass without changing anything: the service behind its tag is
// reported as "update" to repo:tag@<new digest>, the one on the newest digest as
// "up-to-date", in JSON and in the table.
func TestE2ECheckCommand(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	id := randHex(3)
	behind, current := "e2e-check-behind-"+id, "e2e-check-current-"+id
	repoB, repoC := reg.Host+"/"+behind, reg.Host+"/"+current
	b1 := testenv.PushApp(t, repoB+":stable", testenv.App{Version: "1"})
	c1 := testenv.PushApp(t, repoC+":stable", testenv.App{Version: "1c"})
	imgB, imgC := repoB+":stable@"+b1.String(), repoC+":stable@"+c1.String()
	createService(t, dc, behind, imgB, 1, nil)
	createService(t, dc, current, imgC, 1, nil)
	b2 := testenv.PushApp(t, repoB+":stable", testenv.App{Version: "2"})
	wantTarget := repoB + ":stable@" + b2.String()

	dir := t.TempDir()
	path := filepath.Join(dir, "hoist.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
policies:
  - name: chk
    match: { services: [%q, %q] }
`, filepath.Join(dir, "data"), behind, current)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		start := time.Now()
		err := run(context.Background(), append([]string{"check", "--config", path}, args...), os.Getenv, &out, &errb)
		if err != nil {
			t.Fatalf("hoist check %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
		}
		t.Logf("hoist check %v took %s", args, time.Since(start).Round(10*time.Millisecond))
		return out.String()
	}

	out := check("--json")
	var sts []updater.Status
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatalf("hoist check --json: %v\n%s", err, out)
	}
	byKey := map[string]updater.Status{}
	for _, st := range sts {
		byKey[st.Workload.Key()] = st
	}
	if st, ok := byKey["service/"+behind]; !ok {
		t.Errorf("check --json does not list service/%s:\n%s", behind, out)
	} else if st.Action != updater.WouldUpdate || st.Target != wantTarget || st.Policy != "chk" {
		t.Errorf("service/%s: action %q target %q policy %q (%s); want update to %s under chk", behind, st.Action, st.Target, st.Policy, st.Reason, wantTarget)
	}
	if st, ok := byKey["service/"+current]; !ok {
		t.Errorf("check --json does not list service/%s:\n%s", current, out)
	} else if st.Action != updater.UpToDate {
		t.Errorf("service/%s: action %q (%s), want up-to-date", current, st.Action, st.Reason)
	}

	table := check()
	var lineB, lineC string
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "service/" + behind:
			lineB = l
		case "service/" + current:
			lineC = l
		}
	}
	if !strings.HasPrefix(table, "WORKLOAD") {
		t.Errorf("table has no header:\n%s", table)
	}
	if f := strings.Fields(lineB); len(f) != 5 || f[1] != "chk" || f[2] != imgB || f[3] != "update" || f[4] != wantTarget {
		t.Errorf("table row for %s is %q; want policy chk, image %s, update, %s\n%s", behind, lineB, imgB, wantTarget, table)
	}
	if f := strings.Fields(lineC); len(f) != 4 || f[1] != "chk" || f[2] != imgC || f[3] != "up-to-date" {
		t.Errorf("table row for %s is %q; want policy chk, image %s, up-to-date\n%s", current, lineC, imgC, table)
	}

	// Nothing changed.
	if got := serviceImage(t, dc, behind); got != imgB {
		t.Errorf("service %s moved to %s during a check", behind, got)
	}
	if got := serviceImage(t, dc, current); got != imgC {
		t.Errorf("service %s moved to %s during a check", current, got)
	}
	if n := runningTasks(t, dc, behind, imgB); n != 1 {
		t.Errorf("%d tasks of %s on %s after the check, want 1", n, behind, imgB)
	}
}
