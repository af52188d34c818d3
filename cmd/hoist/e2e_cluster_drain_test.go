//go:build cluster

package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// hoist runs as a service on a manager; while it watches a rollout, its node is
// drained. Swarm stops it there and starts it on another manager, whose local volume
// is empty: the new hoist finds the rollout from hoist's marker in the service's spec
// and watches it again. An image that crashes late is rolled back and quarantined; a
// good one is kept. Either way one record says what happened, and that hoist restarted.
func TestClusterHoistServiceNodeDrained(t *testing.T) {
	c := newCluster(t)
	t.Run("crashing image", func(t *testing.T) {
		end, h, bad, v1 := runDrain(t, c, testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 25 * time.Second}, "watch: 45s")
		checkCrashRecords(t, h, end.Workload, bad, end.ID, false)
		_, digest, _ := strings.Cut(bad, "@")
		checkQuarantined(t, h, end.Workload, digest)
		c.waitSpread(t, strings.TrimPrefix(end.Workload, "service/"), v1, time.Minute)
	})
	t.Run("good image", func(t *testing.T) {
		end, h, good, _ := runDrain(t, c, testenv.App{Version: "2"}, "watch: 20s")
		if rs := h.rolloutsTo(t, end.Workload, good); len(rs) != 1 {
			t.Errorf("%d records to the new image, want 1", len(rs))
		}
		if end.Outcome != updater.Succeeded || !strings.Contains(end.Reason, updater.RestartNote) || strings.HasSuffix(end.Reason, "; ") || end.Restarts < 1 {
			t.Errorf("record: %s, restarts %d: %s; want succeeded, saying hoist restarted", end.Outcome, end.Restarts, end.Reason)
		}
		if it, _ := h.workload(t, end.Workload); len(it.Quarantined) != 0 {
			t.Errorf("quarantined: %+v", it.Quarantined)
		}
		c.waitSpread(t, strings.TrimPrefix(end.Workload, "service/"), good, time.Minute)
	})
}

// runDrain rolls a service on the workers out to next with hoist as a service, drains
// hoist's node once the record is in phase watching, and returns the record as the
// rescheduled hoist ended it, that hoist, the image rolled out to, and the one before.
func runDrain(t *testing.T, c *cluster, next testenv.App, health string) (updater.Rollout, *hoistProcess, string, string) {
	t.Helper()
	svc := "cl-drain-" + randHex(3)
	repo := c.registry + "/cluster/" + svc
	v1 := c.push(t, repo+":stable", testenv.App{Version: "1"})
	c.workerService(t, svc, v1, nil)
	hs := c.startHoistService(t, svc, "monitor: 2s", health)
	first, h1 := hs.api(t, "", 2*time.Minute)
	t.Logf("hoist runs on %s", first)

	img := c.push(t, repo+":stable", next)
	key := "service/" + svc
	rec := h1.waitPhase(t, key, img, updater.PhaseWatching, 2*time.Minute)
	drained := time.Now()
	c.setAvailability(t, first, swarm.NodeAvailabilityDrain)
	t.Cleanup(func() { c.setAvailability(t, first, swarm.NodeAvailabilityActive) })

	second, h2 := hs.api(t, first, 2*time.Minute)
	t.Logf("hoist moved from %s to %s in %s; the rollout was #%d, watching since %s", first, second,
		time.Since(drained).Round(100*time.Millisecond), rec.ID, rec.PhaseAt.Format("15:04:05.000"))
	end := h2.waitEnded(t, key, img, 3*time.Minute)
	t.Logf("the new hoist ended it %s after the drain: %s: %s", end.Ended.Sub(drained).Round(100*time.Millisecond), end.Outcome, end.Reason)
	if slices.Contains(c.managers, nodeName(first)) && first == second {
		t.Errorf("hoist did not move")
	}
	return end, h2, img, v1
}
