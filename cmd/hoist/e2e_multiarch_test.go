package main

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A multi-arch tag whose index changed only for a platform the service does not run on
// restarts nothing (and says so once); an index that drops the service's platform is
// refused; a real change for its platform rolls out, pinned to the index digest.
func TestE2EMultiArch(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	svc := "e2e-multi-" + randHex(3)
	repo := reg.Host + "/" + svc
	amd1 := testenv.Image(t, testenv.App{Version: "1"})
	arm := func(v string) v1.Image {
		return testenv.Image(t, testenv.App{Version: v, Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
	}
	i1 := testenv.PushIndex(t, repo+":stable", map[string]v1.Image{"linux/amd64": amd1, "linux/arm64": arm("1")})
	img1 := repo + ":stable@" + i1.String()
	createService(t, dc, svc, img1, 1, nil)
	h := startHoist(t, "poll: { interval: 1s }\n"+policyYAML(svc, "3s"), nil)

	// Only arm64 changed: equivalent for this amd64 service.
	i2 := testenv.PushIndex(t, repo+":stable", map[string]v1.Image{"linux/amd64": amd1, "linux/arm64": arm("2")})
	r := h.waitRollout(t, "service/"+svc, time.Minute)
	if r.Outcome != updater.Skipped || !strings.Contains(r.Reason, "not the image of any platform") || !strings.HasSuffix(r.To, i2.String()) {
		t.Fatalf("index changed for arm64 only: %s to %s (%s), want skipped", r.Outcome, r.To, r.Reason)
	}
	time.Sleep(3 * time.Second)
	if rs := h.rollouts(t, "service/"+svc); len(rs) != 1 {
		t.Fatalf("%d records, want the one 'skipped' note: %+v", len(rs), rs)
	}
	if got := serviceImage(t, dc, svc); got != img1 {
		t.Fatalf("service image %s, want it untouched at %s", got, img1)
	}

	// The new index lacks amd64: refused with a reason.
	testenv.PushIndex(t, repo+":stable", map[string]v1.Image{"linux/arm64": arm("3")})
	deadline := time.Now().Add(time.Minute)
	for {
		rs := h.rollouts(t, "service/"+svc)
		if len(rs) == 2 {
			if rs[0].Outcome != updater.RefusedOutcome || !strings.Contains(rs[0].Reason, "linux/amd64") {
				t.Fatalf("index without amd64: %s (%s), want refused naming linux/amd64", rs[0].Outcome, rs[0].Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal recorded: %+v", rs)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got := serviceImage(t, dc, svc); got != img1 {
		t.Fatalf("service image %s after a refused index, want %s", got, img1)
	}

	// A real amd64 change rolls out, pinned to the index digest.
	i4 := testenv.PushIndex(t, repo+":stable", map[string]v1.Image{"linux/amd64": testenv.Image(t, testenv.App{Version: "4"}), "linux/arm64": arm("4")})
	deadline = time.Now().Add(2 * time.Minute)
	for {
		rs := h.rollouts(t, "service/"+svc)
		if len(rs) == 3 && rs[0].Outcome != updater.Running {
			if rs[0].Outcome != updater.Succeeded {
				t.Fatalf("amd64 change: %s (%s)", rs[0].Outcome, rs[0].Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rollout of the amd64 change: %+v", rs)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got, want := serviceImage(t, dc, svc), repo+":stable@"+i4.String(); got != want {
		t.Fatalf("service image %s, want the index digest %s", got, want)
	}
}
