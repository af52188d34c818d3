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
// killed at once, nothing is reported, and it comes back 20 s later with its tasks'
// containers gone. That is the node's fault, not the image's. While Swarm updates,
// Swarm itself rolls back over the lost task (hoist cannot stop that); hoist does not
// quarantine the digest and the next check rolls it out again. While hoist watches,
// the lost task does not count against the image. Either way the service ends on the
// new image on every worker, nothing quarantined.
func TestClusterWorkerPowerLoss(t *testing.T) {
	c := newCluster(t)
	for _, tc := range []struct {
		name  string
		phase updater.Phase
		// records is how many rollouts to v2 it may take: Swarm's own rollback over
		// the lost task ends the first when Swarm counts it before the update
		// completes (whether it does depends on where the update stood when the
		// node went away).
		records int
		// watch outlasts the node's absence when the loss comes during it, so that
		// its tasks are reported failed within the watch.
		watch string
	}{
		{"while Swarm updates", updater.PhaseConverging, 2, "watch: 5s"},
		{"while hoist watches", updater.PhaseWatching, 1, "watch: 35s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := "cl-power-" + randHex(3)
			repo := c.registry + "/cluster/" + svc
			v1 := c.push(t, repo+":stable", testenv.App{Version: "1"})
			c.workerService(t, svc, v1, nil)
			h := startHoistProcess(t, t.TempDir(), c.hoistConfig(c.sock(c.managers[0]), svc, "monitor: 2s, delay: 6s", tc.watch))
			v2 := c.push(t, repo+":stable", testenv.App{Version: "2"})
			key := "service/" + svc
			h.waitPhase(t, key, v2, tc.phase, 2*time.Minute)
			powerLoss(t, c, c.workers[len(c.workers)-1], 20*time.Second)

			var rs []updater.Rollout
			waitFor(t, "a succeeded rollout to v2", 4*time.Minute, func() bool {
				rs = h.rolloutsTo(t, key, v2)
				return len(rs) > 0 && rs[0].Outcome == updater.Succeeded // newest first
			})
			for _, r := range rs {
				t.Logf("record #%d: %s after %s: %s", r.ID, r.Outcome, r.Ended.Sub(r.Started).Round(100*time.Millisecond), r.Reason)
			}
			if len(rs) < 1 || len(rs) > tc.records {
				t.Errorf("%d records to v2, want 1 to %d", len(rs), tc.records)
			}
			c.waitSpread(t, svc, v2, time.Minute)
			for _, r := range rs {
				if r.Outcome == updater.RolledBack && !strings.Contains(r.Reason, "says nothing of the image; not quarantined") {
					t.Errorf("record #%d rolled back, blaming the image: %s", r.ID, r.Reason)
				}
			}
			if it, _ := h.workload(t, key); len(it.Quarantined) != 0 {
				t.Errorf("quarantined: %+v", it.Quarantined)
			}
			if w := warnings(h.logs()); strings.TrimSpace(w) != "" {
				t.Logf("what hoist met:\n%s", w)
			}
		})
	}
}

// powerLoss kills everything on node n at once and starts it again after down.
func powerLoss(t *testing.T, c *cluster, n string, down time.Duration) {
	t.Helper()
	c.run(t, "crash", n)
	back := false
	t.Cleanup(func() {
		if !back {
			c.run(t, "up", n)
		}
	})
	time.Sleep(down)
	c.run(t, "up", n)
	back = true
}
