package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// reloadConfig is the file TestE2EReload edits: the head startHoistArgs writes, the
// notification sink, the webhook token and the policy's approve, then extra.
func reloadConfig(head, sink, svc, tok string, approve bool, extra string) string {
	when := "false"
	if approve {
		when = "true"
	}
	return head + "notify: [ { url: " + sink + " } ]\npoll: { interval: 0 }\nwebhooks:\n  distribution: { token: " + tok + " }\n" +
		policyYAML(svc, "8s") + "    when: { approve: " + when + " }\n" + extra
}

// waitReload waits until the running hoist says a reload at or after since ended.
func (h *hoistProc) waitReload(t *testing.T, since time.Time) api.ConfigReload {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st api.ConfigStatus
		h.getJSON(t, "/api/v1/config/status", &st)
		if r := st.LastReload; r != nil && !r.At.Before(since) {
			return *r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload since %s: %+v", since, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Reloading the configuration of a running hoist: a broken edit is refused with its
// line and the policy in force keeps working (the next push rolls out under it); an
// edit made while that rollout runs (approve: true, a new webhook token) is taken
// without touching the rollout, which ends as it would have; the next push is then
// held for approval, and only the new token is taken.
func TestE2EReload(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-reload-", "", "stable", 1)
	tokA, tokB := randHex(16), randHex(16)
	opsA, opsB := newSink(t), newSink(t)
	h, _ := startHoistArgs(t, t.TempDir(), reloadConfig("", opsA.URL, a.svc, tokA, false, ""), nil, "--watch-config")
	raw, err := os.ReadFile(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "notify:")
	key := "service/" + a.svc
	write := func(body string) time.Time {
		t.Helper()
		// Written beside and renamed, as editors and ConfigMaps do: never read half-written.
		tmp := filepath.Join(filepath.Dir(h.Config), ".next.yaml")
		if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, h.Config); err != nil {
			t.Fatal(err)
		}
		// Any reload from now on reads this file (another test's SIGHUP reaches this
		// process's hoists too).
		return time.Now()
	}
	hook := func(tok, tag string) int {
		return post(t, h.URL+"/webhooks/distribution", map[string]string{"Authorization": "Bearer " + tok,
			"Content-Type": "application/vnd.docker.distribution.events.v1+json"}, distributionEvent(a.reg.Host, a.svc, tag))
	}

	// 1. A broken edit (approve: true, and a key that does not exist) is
	// refused on SIGHUP: the error names the line, the metric says 0.
	broken := reloadConfig(head, opsB.URL, a.svc, tokB, true, "    bogus: 1\n")
	line := strings.Count(broken[:strings.Index(broken, "bogus")], "\n") + 1
	at := write(broken)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r := h.waitReload(t, at)
	wantAt := filepath.Base(h.Config) + ":" + strconv.Itoa(line)
	if r.Success || !strings.Contains(r.Error, wantAt) {
		t.Fatalf("broken edit: %+v; want refused naming %s", r, wantAt)
	}
	if m := h.metrics(t); !strings.Contains(m, "hoist_config_last_reload_success 0") {
		t.Errorf("metrics after the refused reload:\n%s", grepLines(m, "hoist_config"))
	}
	if logs := h.logs.String(); !strings.Contains(logs, "configuration not reloaded") || !strings.Contains(logs, wantAt) {
		t.Errorf("the log does not name %s:\n%s", wantAt, logs)
	}

	// 2. The policy in force (approve: false) and token A still hold: the push rolls out.
	img2 := a.push(t, testenv.App{Version: "2"})
	if code := hook(tokA, "stable"); code != 202 {
		t.Fatalf("token A after the refused reload: %d", code)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for rs := h.rollouts(t, key); len(rs) == 0 || rs[0].Outcome != updater.Running; rs = h.rollouts(t, key) {
		if len(rs) > 0 || time.Now().After(deadline) {
			t.Fatalf("rollouts %+v; want one running", rs)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// 3. While it runs (it watches 8 s), the valid edit is picked up by --watch-config.
	at = write(reloadConfig(head, opsB.URL, a.svc, tokB, true, ""))
	r = h.waitReload(t, at)
	took := time.Since(at)
	if !r.Success || len(r.NeedsRestart) != 0 {
		t.Fatalf("valid edit: %+v", r)
	}
	if rs := h.rollouts(t, key); len(rs) != 1 || rs[0].Outcome != updater.Running {
		t.Fatalf("the rollout did not run through the reload: %+v", rs)
	}
	t.Logf("edit taken %s after the file was written (the watch looks every %s)", took.Round(time.Millisecond), app.WatchEvery)
	got := h.waitRollout(t, key, 3*time.Minute)
	if got.Outcome != updater.Succeeded || got.To != img2 {
		t.Fatalf("rollout in flight during the reload: %s to %s (%s); want succeeded to %s", got.Outcome, got.To, got.Reason, img2)
	}
	if m := h.metrics(t); !strings.Contains(m, "hoist_config_last_reload_success 1") {
		t.Errorf("metrics after the reload:\n%s", grepLines(m, "hoist_config"))
	}

	// 4. The next push is held for approval, and only the new token is taken.
	img3 := a.push(t, testenv.App{Version: "3"})
	if code := hook(tokA, "stable"); code != 401 {
		t.Errorf("old token after the reload: %d, want 401", code)
	}
	if code := hook(tokB, "stable"); code != 202 {
		t.Fatalf("new token after the reload: %d, want 202", code)
	}
	deadline = time.Now().Add(time.Minute)
	for st := h.status(t, key); st.Action != updater.AwaitingApproval; st = h.status(t, key) {
		if time.Now().After(deadline) {
			t.Fatalf("after approve: true: %s (%s); want awaiting approval", st.Action, st.Reason)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if rs := h.rollouts(t, key); len(rs) != 1 || serviceImage(t, a.dc, a.svc) != img2 {
		t.Fatalf("rolled out while held for approval: %+v (target was %s)", rs, img3)
	}
	// Notifications go to the sink of the reloaded file: the rollout's end and the hold.
	if got := opsB.wait(t, 2); !strings.Contains(got[0], `"succeeded"`) || !strings.Contains(got[1], "awaiting") {
		t.Errorf("the new sink heard %q; want the rollout's success, then the hold", got)
	}
	if got := opsA.received(); len(got) != 0 {
		t.Errorf("the sink the reload removed heard %q", got)
	}

	// 5. A restart-only key (listen) is reported and kept.
	listen, _, _ := strings.Cut(head, "\n")
	at = write(strings.Replace(reloadConfig(head, opsB.URL, a.svc, tokB, true, ""), listen, "listen: "+freePort(t), 1))
	r = h.waitReload(t, at)
	if !r.Success || len(r.NeedsRestart) != 1 || r.NeedsRestart[0] != "listen" {
		t.Fatalf("listen changed: %+v; want success with listen needing a restart", r)
	}
	if code := hook(tokB, "stable"); code != 202 {
		t.Errorf("still served on the old address: %d", code)
	}
	t.Logf("reloads:\n%s", grepLines(h.logs.String(), "configuration reloaded"))
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
