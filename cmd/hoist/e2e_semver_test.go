package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A semver policy moves a service to the newest tag in its range — of the same variant:
// from 1.25.3-alpine to 1.25.4-alpine, not to the newer 1.25.9 without a variant, nor
// out of the range to 1.26.0-alpine; a later push in range moves it again.
func TestE2ESemverKeepsVariant(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	svc := "e2e-semver-" + randHex(3)
	repo := reg.Host + "/" + svc
	push := func(tag string) string {
		return repo + ":" + tag + "@" + testenv.PushApp(t, repo+":"+tag, testenv.App{Version: tag}).String()
	}
	img1 := push("1.25.3-alpine")
	createService(t, dc, svc, img1, 1, nil)
	push("1.25.9")
	push("1.26.0-alpine")
	push("1.25.4-rc.1-alpine")
	want := push("1.25.4-alpine")

	tok := randHex(16)
	h := startHoist(t, "poll: { interval: 1s }\nwebhooks:\n  distribution: { token: "+tok+" }\n"+policyYAML(svc, "2s")+"    update: semver\n    semver: \"~1.25\"\n", nil)
	key := "service/" + svc
	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != want {
		t.Fatalf("first rollout: %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, want)
	}
	if got := serviceImage(t, dc, svc); got != want {
		t.Fatalf("service image %s, want %s", got, want)
	}

	// A push of a new tag, told by webhook: the tag list is read again at once (polls
	// reuse it for a minute).
	next := push("1.25.5-alpine")
	hdr := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
	if code := post(t, h.URL+"/webhooks/distribution", hdr, distributionEvent(reg.Host, svc, "1.25.5-alpine")); code != 202 {
		t.Fatalf("webhook: status %d, want 202", code)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rs := h.rollouts(t, key)
		if len(rs) == 2 && rs[0].Outcome != updater.Running {
			if rs[0].Outcome != updater.Succeeded || rs[0].To != next {
				t.Fatalf("second rollout: %s to %s (%s), want succeeded to %s", rs[0].Outcome, rs[0].To, rs[0].Reason, next)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rollout to %s: %s", next, fmt.Sprint(rs))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if st := h.status(t, key); st.Action != updater.UpToDate {
		t.Fatalf("after 1.25.5-alpine: %s (%s), want up-to-date", st.Action, st.Reason)
	}
}
