package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A real registry (Debian's docker-registry, Distribution 2.8) sends the notifications
// of a real push to hoist serve, and the service rolls out. The registry also sends
// blob pushes, HEAD "pulls" and hoist's own digest checks: all must be answered 2xx so
// its queue keeps moving.
func TestE2ERealRegistryNotifications(t *testing.T) {
	t.Parallel()
	dc := testenv.Shared(t).Docker
	svc := "e2e-realreg-" + randHex(3)
	tok := randHex(16)
	h := startHoist(t, "poll: { interval: 0 }\nwebhooks:\n  distribution: { token: "+tok+" }\n"+policyYAML(svc, "3s"), nil)
	host := testenv.Distribution(t, h.URL+"/webhooks/distribution", tok)
	repo := host + "/team/" + svc

	d1 := testenv.PushApp(t, repo+":v1", testenv.App{Version: "1"})
	img1 := repo + ":v1@" + d1.String()
	createService(t, dc, svc, img1, 1, nil)
	// Let the notifications of the first push drain: the service is on v1 already, so
	// they must not start anything.
	time.Sleep(3 * time.Second)
	if rs := h.rollouts(t, "service/"+svc); len(rs) != 0 {
		t.Fatalf("rollouts before any new push: %+v", rs)
	}

	d2 := testenv.PushApp(t, repo+":v1", testenv.App{Version: "2"})
	r := h.waitRollout(t, "service/"+svc, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.Trigger != "distribution" {
		t.Fatalf("rollout %s via %s (%s)", r.Outcome, r.Trigger, r.Reason)
	}
	want := repo + ":v1@" + d2.String()
	if got := serviceImage(t, dc, svc); got != want {
		t.Fatalf("service image %s, want %s", got, want)
	}
	waitRunning(t, dc, svc, want, 1, 30*time.Second)
	if strings.Contains(h.logs.String(), tok) {
		t.Error("the webhook token appears in hoist's logs")
	}
}
