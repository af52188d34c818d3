package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// status asks the running hoist what it would do for one workload (GET /api/v1/workloads).
func (h *hoistProc) status(t *testing.T, key string) updater.Status {
	t.Helper()
	var sts []updater.Status
	h.getJSON(t, "/api/v1/workloads", &sts)
	for _, st := range sts {
		if st.Workload.Key() == key {
			return st
		}
	}
	t.Fatalf("%s not among the workloads", key)
	return updater.Status{}
}

// check runs POST /api/v1/check: one pass that hands updates to the updater.
func (h *hoistProc) check(t *testing.T) {
	t.Helper()
	if code := post(t, h.URL+"/api/v1/check", map[string]string{"Authorization": "Bearer " + h.Token}, ""); code != 200 {
		t.Fatalf("POST /api/v1/check: %d", code)
	}
}

// A digest younger than the policy's min_age waits, and rolls out by itself once it is
// old enough: polling is off and no event comes after the first check.
func TestE2EWhenMinAge(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-age-", "", "stable", 1)
	ops := newSink(t)
	h := startHoist(t, "poll: { interval: 0 }\nnotify: [ { url: "+ops.URL+" } ]\n"+policyYAML(a.svc, "2s")+"    when: { min_age: 8s }\n", nil)
	key := "service/" + a.svc

	img2 := a.push(t, testenv.App{Version: "2"})
	seen := time.Now()
	h.check(t)
	st := h.status(t, key)
	if st.Action != updater.Deferred || !strings.Contains(st.Reason, "min_age") || st.NotBefore.Before(seen.Add(7*time.Second)) {
		t.Fatalf("fresh digest: %s (%s) not before %s; want deferred for min_age", st.Action, st.Reason, st.NotBefore)
	}
	time.Sleep(4 * time.Second)
	if rs := h.rollouts(t, key); len(rs) != 0 {
		t.Fatalf("rolled out before min_age: %+v", rs)
	}

	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != img2 || r.Trigger != "schedule" {
		t.Fatalf("after min_age: %s to %s by %q (%s); want succeeded to %s by schedule", r.Outcome, r.To, r.Trigger, r.Reason, img2)
	}
	if age := r.Started.Sub(seen); age < 8*time.Second {
		t.Fatalf("rollout started %s after the digest was first seen; min_age is 8s", age)
	}
	// The JSON sink hears of the success (and of nothing while the digest waited).
	var ev struct{ Workload, To, Outcome, Trigger string }
	if got := ops.wait(t, 1); len(got) != 1 || json.Unmarshal([]byte(got[0]), &ev) != nil ||
		ev.Workload != key || ev.To != img2 || ev.Outcome != "succeeded" || ev.Trigger != "schedule" {
		t.Errorf("notifications %q; want one JSON event: %s succeeded to %s by schedule", got, key, img2)
	}
	// hoist history asks the running serve (which holds the store).
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"history", "--json", "--config", h.Config, key}, os.Getenv, &out, &errb); err != nil {
		t.Fatalf("hoist history: %v\n%s", err, errb.String())
	}
	var hist []updater.Rollout
	if err := json.Unmarshal(out.Bytes(), &hist); err != nil || len(hist) != 1 || hist[0].ID != r.ID || hist[0].Outcome != updater.Succeeded {
		t.Fatalf("hoist history: %v %s; want the one rollout", err, out.String())
	}
	t.Logf("rollout started %s after the digest was first seen", r.Started.Sub(seen).Round(time.Millisecond))
}

// Outside the policy's window nothing rolls out, however often hoist polls; when the
// window opens, the update starts by itself.
func TestE2EWhenWindow(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-window-", "", "stable", 1)
	// A window that opens in 25 s (time for hoist to start and see the push on a slow
	// machine), read in a zone other than the machine's, and lasts 10 minutes.
	zone, _ := time.LoadLocation("Asia/Kolkata") // UTC+05:30: the half hour shows the zone is used
	opens := time.Now().In(zone).Add(25 * time.Second).Truncate(time.Second)
	closes := opens.Add(10 * time.Minute)
	when := fmt.Sprintf("    when: { timezone: Asia/Kolkata, windows: [ { from: %q, to: %q } ] }\n", opens.Format("15:04:05"), closes.Format("15:04:05"))
	h := startHoist(t, "poll: { interval: 1s }\n"+policyYAML(a.svc, "2s")+when, nil)
	key := "service/" + a.svc

	img2 := a.push(t, testenv.App{Version: "2"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := h.status(t, key)
		if st.Action == updater.Deferred {
			if !strings.Contains(st.Reason, "outside policy e2e's windows") || !st.NotBefore.Equal(opens) {
				t.Fatalf("deferred: %s, not before %s; want the window named, opening at %s", st.Reason, st.NotBefore, opens)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new digest outside the window: %s (%s), want deferred", st.Action, st.Reason)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if wait := time.Until(opens) - 2*time.Second; wait > 0 {
		time.Sleep(wait)
	}
	if rs := h.rollouts(t, key); len(rs) != 0 || serviceImage(t, a.dc, a.svc) != a.img1 {
		t.Fatalf("rolled out outside the window: %+v", rs)
	}

	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != img2 {
		t.Fatalf("in the window: %s to %s (%s); want succeeded to %s", r.Outcome, r.To, r.Reason, img2)
	}
	if r.Started.Before(opens) {
		t.Fatalf("rollout started %s, before the window opened at %s", r.Started, opens)
	}
	t.Logf("window opened %s; rollout started %s later (trigger %s)", opens.UTC().Format(time.TimeOnly), r.Started.Sub(opens).Round(time.Millisecond), r.Trigger)
}

// A policy with when.approve holds each new digest: nothing rolls out, however often
// hoist polls, until an operator approves that very digest; the next push is held again.
func TestE2EWhenApprove(t *testing.T) {
	t.Parallel()
	a := newSwarmApp(t, "e2e-approve-", "", "stable", 1)
	ops := newSink(t)
	h := startHoist(t, "poll: { interval: 1s }\nnotify: [ { url: "+ops.URL+", on: [awaiting_approval, succeeded] } ]\n"+policyYAML(a.svc, "2s")+"    when: { approve: true }\n", nil)
	key := "service/" + a.svc
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(args, "--config", h.Config, key), os.Getenv, &out, &errb)
		return out.String() + errb.String(), err
	}

	img2 := a.push(t, testenv.App{Version: "2"})
	d2 := img2[strings.Index(img2, "@")+1:]
	var ev struct{ Workload, To, Outcome, Reason string }
	if got := ops.wait(t, 1); json.Unmarshal([]byte(got[0]), &ev) != nil || ev.Outcome != "awaiting_approval" || ev.To != img2 || !strings.Contains(ev.Reason, "hoist approve "+key) {
		t.Fatalf("notification %q; want awaiting_approval of %s with the command to approve it", got, img2)
	}
	if st := h.status(t, key); st.Action != updater.AwaitingApproval || st.Target != img2 {
		t.Fatalf("status %s → %s (%s), want awaiting-approval of %s", st.Action, st.Target, st.Reason, img2)
	}
	time.Sleep(4 * time.Second) // four poll cycles
	if rs := h.rollouts(t, key); len(rs) != 0 || len(ops.received()) != 1 {
		t.Fatalf("without approval: %d rollouts, %d notifications; want none and the one", len(rs), len(ops.received()))
	}

	// Approving a digest that is not the one waiting is refused and changes nothing.
	if out, err := cli("approve", "--digest", "sha256:"+strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "waits for approval of "+d2) {
		t.Fatalf("approve the wrong digest: %v %s", err, out)
	}
	out, err := cli("approve", "--digest", d2)
	if err != nil || !strings.Contains(out, "approved "+img2) {
		t.Fatalf("approve: %v %s", err, out)
	}
	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != img2 || r.Trigger != "approve" {
		t.Fatalf("after approval: %s to %s by %q (%s)", r.Outcome, r.To, r.Trigger, r.Reason)
	}
	if out, err := cli("approve"); err == nil || !strings.Contains(err.Error(), "nothing to approve") {
		t.Fatalf("approve with nothing waiting: %v %s", err, out)
	}

	// The next push waits for its own approval.
	img3 := a.push(t, testenv.App{Version: "3"})
	deadline := time.Now().Add(30 * time.Second)
	for st := h.status(t, key); st.Action != updater.AwaitingApproval || st.Target != img3; st = h.status(t, key) {
		if time.Now().After(deadline) {
			t.Fatalf("after a new push: %s → %s (%s), want awaiting-approval of %s", st.Action, st.Target, st.Reason, img3)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if rs := h.rollouts(t, key); len(rs) != 1 {
		t.Fatalf("%d rollouts, want only the approved one", len(rs))
	}
}
