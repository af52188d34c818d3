package main

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A tags policy ordered numerically moves a service to the newest main-<ts>-<sha>
// build: past a build whose timestamp sorts higher as text but is older, past cosign's
// signature tag; a newer build without an image for the service's platform is
// refused, and the build after it rolls out.
func TestE2ETagsNumerical(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	svc := "e2e-tags-" + randHex(3)
	repo := reg.Host + "/" + svc
	push := func(tag string, plat *v1.Platform) string {
		return repo + ":" + tag + "@" + testenv.PushApp(t, repo+":"+tag, testenv.App{Version: tag, Platform: plat}).String()
	}
	img1 := push("main-1732800000-0f3e2a1", nil)
	createService(t, dc, svc, img1, 1, nil)
	push("main-999999999-deadbee", nil) // "9…" sorts after "1…" as text
	want := push("main-1732900000-ab12cd0", nil)
	push("sha256-"+strings.Repeat("4f", 32)+".sig", nil)

	tok := randHex(16)
	h := startHoist(t, "poll: { interval: 1s }\nwebhooks:\n  distribution: { token: "+tok+" }\n"+policyYAML(svc, "2s")+
		"    update: tags\n    tags:\n      filter: { pattern: '^main-(?P<ts>[0-9]+)-[0-9a-f]+$', extract: '$ts' }\n      order: numerical\n", nil)
	key := "service/" + svc
	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != want {
		t.Fatalf("first rollout: %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, want)
	}
	if got := serviceImage(t, dc, svc); got != want {
		t.Fatalf("service image %s, want %s", got, want)
	}
	st := h.status(t, key)
	if wantWhy := "newest of 3 tags matching ^main-(?P<ts>[0-9]+)… by ts (numerical, desc): main-1732900000-ab12cd0; 1 excluded (the current tag)"; st.Action != updater.UpToDate || st.Choice != wantWhy {
		t.Fatalf("after the first rollout: %s, choice %q; want up-to-date, %q", st.Action, st.Choice, wantWhy)
	}

	// A newer build for another platform only: refused, the service stays.
	hdr := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
	notify := func(tag string) {
		t.Helper()
		if code := post(t, h.URL+"/webhooks/distribution", hdr, distributionEvent(reg.Host, svc, tag)); code != 202 {
			t.Fatalf("webhook: status %d, want 202", code)
		}
	}
	push("main-1733000000-5e5e5e5", &v1.Platform{OS: "linux", Architecture: "s390x"})
	notify("main-1733000000-5e5e5e5")
	deadline := time.Now().Add(time.Minute)
	for st = h.status(t, key); st.Action != updater.Refused; st = h.status(t, key) {
		if time.Now().After(deadline) {
			t.Fatalf("build for s390x only: %s (%s), want refused", st.Action, st.Reason)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(st.Reason, "tag main-1733000000-5e5e5e5 has no image for linux/") {
		t.Fatalf("refused: %s", st.Reason)
	}

	// The next build covers the platform and rolls out.
	next := push("main-1733100000-7a7a7a7", nil)
	notify("main-1733100000-7a7a7a7")
	deadline = time.Now().Add(2 * time.Minute)
	for {
		rs := h.rollouts(t, key)
		if len(rs) > 0 && strings.HasPrefix(rs[0].To, repo+":main-1733100000-") && rs[0].Outcome != updater.Running {
			if rs[0].Outcome != updater.Succeeded || rs[0].To != next {
				t.Fatalf("last rollout: %s to %s (%s), want succeeded to %s", rs[0].Outcome, rs[0].To, rs[0].Reason, next)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rollout to %s: %v", next, rs)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got := serviceImage(t, dc, svc); got != next {
		t.Fatalf("service image %s, want %s", got, next)
	}
}
