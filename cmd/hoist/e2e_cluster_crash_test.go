//go:build cluster

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A worker loses power while a good image rolls out: its engine and containers are
// killed at once, nothing is reported. It comes back 20 s later with its tasks' containers
// gone. That is the node's fault, not the image's: the rollout ends succeeded, with one
// record and one update, nothing quarantined, every worker on the new image.
func TestClusterWorkerCrashMidRollout(t *testing.T) {
	c := newCluster(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	svc := "cl-power-" + randHex(3)
	repo := c.registry + "/cluster/" + svc
	v1 := c.push(t, repo+":stable", testenv.App{Version: "1"})
	c.workerService(t, svc, v1, nil)
	h := startHoistProcess(t, t.TempDir(), c.hoistConfig(c.sock(c.managers[0]), svc, "monitor: 2s, delay: 6s", "watch: 15s"))

	v2 := c.push(t, repo+":stable", testenv.App{Version: "2"})
	key := "service/" + svc
	h.waitPhase(t, key, v2, updater.PhaseConverging, time.Minute)
	worker := c.workers[len(c.workers)-1]
	crashed := time.Now()
	c.run(t, "crash", worker)
	back := false
	t.Cleanup(func() {
		if !back {
			c.run(t, "up", worker)
		}
	})
	time.Sleep(20 * time.Second)
	c.run(t, "up", worker)
	back = true

	end := h.waitEnded(t, key, v2, 4*time.Minute)
	t.Logf("%s lost power %s after the rollout started, back 20 s later; the rollout ended %s after the crash: %s: %s",
		worker, crashed.Sub(end.Started).Round(100*time.Millisecond), end.Ended.Sub(crashed).Round(100*time.Millisecond), end.Outcome, end.Reason)
	if end.Outcome != updater.Succeeded {
		t.Fatalf("rollout: %s: %s\nwhat hoist met:\n%s", end.Outcome, end.Reason, warnings(h.logs()))
	}
	if rs := h.rolloutsTo(t, key, v2); len(rs) != 1 {
		t.Errorf("%d records to v2, want 1", len(rs))
	}
	if it, _ := h.workload(t, key); len(it.Quarantined) != 0 {
		t.Errorf("quarantined: %+v", it.Quarantined)
	}
	c.waitSpread(t, svc, v2, 2*time.Minute)
	if n, _ := attemptsOf(taskHistory(t, c.manager(t), svc), v2); n != 1 {
		t.Errorf("v2 was deployed by %d updates, want 1", n)
	}
	if w := warnings(h.logs()); strings.TrimSpace(w) != "" {
		t.Logf("what hoist met meanwhile:\n%s", w)
	}
}
