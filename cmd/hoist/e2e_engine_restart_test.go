//go:build enginerestart

package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// dockerd restarts (as on a node reboot) while hoist watches a service and a container
// it just updated to an image that crashes 12 s after start. Once the engine answers
// again, each rollout is rolled back — once, with a true record — and both workloads
// run their previous image.
//
// It restarts the engine, so it runs alone, built only with -tags enginerestart:
// scripts/test.sh runs it in a step of its own with HOIST_ENGINE_RESTART set to the
// command that restarts the engine it started.
func TestE2EEngineRestartMidRollout(t *testing.T) {
	restart := os.Getenv("HOIST_ENGINE_RESTART")
	if restart == "" {
		testenv.Missing(t, `HOIST_ENGINE_RESTART, the command that restarts the engine (scripts/test.sh runs this test alone with HOIST_ENGINE_RESTART="scripts/engine.sh restart")`)
	}
	dc := testenv.Shared(t).Docker
	ctx := context.Background()

	// A service on v1, and a container on v1 with no restart policy.
	a := newSwarmApp(t, "e2e-engine-", "", "prod", 2)
	ctName := "e2e-engine-ct-" + randHex(3)
	ctRepo := a.reg.Host + "/" + ctName
	testenv.PushApp(t, ctRepo+":stable", testenv.App{Version: "1", NoHealthcheck: true})
	pull, err := dc.ImagePull(ctx, ctRepo+":stable", client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, pull)
	pull.Close()
	cr, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{Name: ctName, Config: &container.Config{Image: ctRepo + ":stable"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl, _ := dc.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", ctName)})
		for _, c := range cl.Items {
			dc.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
		}
	})
	if _, err := dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}

	h := startHoist(t, "poll: { interval: 1s }\n"+policyYAML(a.svc, "75s")+`  - name: ct
    match: { containers: ["`+ctName+`"] }
    health: { watch: 40s, timeout: 3m }
`, nil)
	late := testenv.App{Mode: testenv.LateCrash, CrashAfter: 12 * time.Second, NoHealthcheck: true, Version: "2"}
	img2 := a.push(t, late)
	// The engine's restart stops the container's replacement (no restart policy), which
	// fails it. Its own crash comes later than any restart: one that came while the old
	// engine was still shutting down (Swarm's manager can take 8 s to stop) would have
	// hoist revert on that engine, which then stops the old container too.
	ctLate := late
	ctLate.CrashAfter = 2 * time.Minute
	testenv.PushApp(t, ctRepo+":stable", ctLate)

	svcKey, ctKey := "service/"+a.svc, "container/"+ctName
	waitPhase := func(key string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if rs := h.rollouts(t, key); len(rs) > 0 && rs[0].Phase == updater.PhaseWatching {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s never reached the watch", key)
	}
	waitPhase(svcKey)
	waitPhase(ctKey)

	start := time.Now()
	args := strings.Fields(restart)
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("restart the engine: %v\n%s", err, out)
	}
	t.Logf("engine restarted in %s", time.Since(start).Round(time.Millisecond))

	for _, key := range []string{svcKey, ctKey} {
		r := h.waitRollout(t, key, 4*time.Minute)
		t.Logf("%s: %s after the restart began: %s (%s)", key, time.Since(start).Round(time.Second), r.Outcome, r.Reason)
		if r.Outcome != updater.RolledBack {
			t.Errorf("%s: outcome %s (%s), want rolled_back", key, r.Outcome, r.Reason)
		}
	}
	if got := serviceImage(t, dc, a.svc); got != a.img1 {
		t.Fatalf("service image %s, want %s", got, a.img1)
	}
	waitRunning(t, dc, a.svc, a.img1, 2, 90*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := dc.ContainerInspect(ctx, ctName, client.ContainerInspectOptions{})
		if err == nil && c.Container.ID == cr.ID && c.Container.State.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s is not its old self, running, after the restart: %v", ctName, err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Several poll cycles later: one attempt each, nothing done twice.
	time.Sleep(6 * time.Second)
	for _, key := range []string{svcKey, ctKey} {
		if rs := h.rollouts(t, key); len(rs) != 1 {
			t.Errorf("%s: %d records, want exactly 1: %+v", key, len(rs), rs)
		}
	}
	if got := serviceImage(t, dc, a.svc); got != a.img1 || got == img2 {
		t.Fatalf("service image %s, want %s", got, a.img1)
	}
}
