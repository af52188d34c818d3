//go:build cluster

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// Issue 12: hoist on a real multi-node Swarm (scripts/cluster.sh).

// A service with one task on each worker follows a new digest from the private
// registry. No node has the image beforehand, nobody is logged in anywhere, and the
// credentials the service was created with are stale (as after a password rotation):
// the workers can only pull with the credentials hoist sends with its update.
func TestClusterFollowsPrivateDigest(t *testing.T) {
	t.Parallel() // disturbs no node
	c := newCluster(t)
	svc := "cl-follow-" + randHex(3)
	repo := c.registry + "/cluster/" + svc
	v1 := c.push(t, repo+":stable", testenv.App{Version: "1"})
	c.workerService(t, svc, v1, nil)
	c.staleCredentials(t, svc)

	v2 := c.push(t, repo+":stable", testenv.App{Version: "2"})
	for _, n := range append(c.managers, c.workers...) {
		if c.hasImage(t, n, v2) {
			t.Fatalf("%s has %s before the rollout", n, v2)
		}
	}
	h := startHoistProcess(t, t.TempDir(), c.hoistConfig(c.sock(c.managers[0]), svc, "monitor: 2s", "watch: 5s"))
	r := h.waitEnded(t, "service/"+svc, v2, 2*time.Minute)
	if r.Outcome != updater.Succeeded {
		t.Fatalf("rollout: %s: %s\n%s", r.Outcome, r.Reason, r.Logs)
	}
	// One task per worker and no spare worker: start-first could not place a new task.
	if !strings.HasPrefix(r.Order, "stop-first (the service allows 1 task(s) per node") {
		t.Errorf("order %q, want stop-first for the per-node limit", r.Order)
	}
	hosts := c.onWorkers(t, svc, v2)
	slices.Sort(hosts)
	if len(hosts) != len(c.workers) {
		t.Fatalf("tasks on %s run on %v, want one on each worker", v2, hosts)
	}
	for _, n := range c.workers {
		if !c.hasImage(t, n, v2) {
			t.Errorf("worker %s does not have %s after the rollout", n, v2)
		}
	}
	t.Logf("rolled out to %v in %s", hosts, r.Ended.Sub(r.Started).Round(100*time.Millisecond))
}

// staleCredentials replaces the registry credentials Swarm keeps for svc with a wrong
// password, as an operator's update with revoked credentials would. Tasks that
// already have their image keep running; a new image can only be pulled with
// credentials sent along with the update that asks for it.
func (c *cluster) staleCredentials(t *testing.T, svc string) {
	t.Helper()
	dc := c.manager(t)
	res, err := dc.ServiceInspect(context.Background(), svc, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := res.Service.Spec
	spec.Labels["hoist.test.credentials"] = "stale"
	_, err = dc.ServiceUpdate(context.Background(), svc, client.ServiceUpdateOptions{
		Version: res.Service.Version, Spec: spec, EncodedRegistryAuth: c.auth(c.deployUser, "revoked"),
	})
	if err != nil {
		t.Fatalf("update %s with stale credentials: %v", svc, err)
	}
	c.waitSpread(t, svc, spec.TaskTemplate.ContainerSpec.Image, time.Minute)
}

// An image that crashes 10 s after it starts — past Swarm's 2 s monitor window — but
// only on one worker (the app reads the node's hostname from a Swarm template). Swarm
// reports the update completed; hoist's watch catches the crash on that worker and
// rolls the service back on every node.
func TestClusterLateCrashOnOneWorker(t *testing.T) {
	t.Parallel() // disturbs no node
	c := newCluster(t)
	svc := "cl-late-" + randHex(3)
	repo := c.registry + "/cluster/" + svc
	v1 := c.push(t, repo+":stable", testenv.App{Version: "1"})
	c.workerService(t, svc, v1, nodeEnv)

	victim := "hoist-" + c.workers[len(c.workers)-1]
	bad := c.push(t, repo+":stable", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 10 * time.Second, CrashOn: "HOIST_NODE=" + victim})
	h := startHoistProcess(t, t.TempDir(), c.hoistConfig(c.sock(c.managers[1]), svc, "monitor: 2s", "watch: 40s"))
	r := h.waitEnded(t, "service/"+svc, bad, 3*time.Minute)
	if r.Outcome != updater.RolledBack {
		t.Fatalf("rollout: %s: %s", r.Outcome, r.Reason)
	}
	c.waitSpread(t, svc, v1, time.Minute)
	nodes := c.nodes(t)
	failedOn := map[string]int{}
	for _, task := range taskHistory(t, c.manager(t), svc) {
		if taskImage(task) == bad && task.Status.State == swarm.TaskStateFailed {
			failedOn[hostOf(nodes, task.NodeID)]++
		}
	}
	if failedOn[victim] == 0 || len(failedOn) != 1 {
		t.Errorf("tasks of the bad image failed on %v, want on %s only", failedOn, victim)
	}
	it, ok := h.workload(t, "service/"+svc)
	if !ok || !slices.ContainsFunc(it.Quarantined, func(q updater.Quarantine) bool { return strings.HasSuffix(bad, q.Digest) }) {
		t.Errorf("the bad digest is not quarantined: %+v", it.Quarantined)
	}
	t.Logf("rolled back: %s (%s after the rollout started)", r.Reason, r.Ended.Sub(r.Started).Round(100*time.Millisecond))
}

// The leading manager is restarted while a rollout is under way: its engine is killed,
// and started again once the other managers have elected a new leader; hoist talks to
// one of them. The rollout is neither lost nor made twice: it ends succeeded, with one
// record and one update, every worker on the new image.
func TestClusterLeaderRestartMidRollout(t *testing.T) {
	c := newCluster(t)
	svc := "cl-leader-" + randHex(3)
	repo := c.registry + "/cluster/" + svc
	v1 := c.push(t, repo+":stable", testenv.App{Version: "1"})
	c.workerService(t, svc, v1, nil)
	leader := c.leader(t)
	via := c.managers[0]
	for _, m := range c.managers {
		if "hoist-"+m != leader {
			via = m
			break
		}
	}
	h := startHoistProcess(t, t.TempDir(), c.hoistConfig(c.sock(via), svc, "monitor: 2s, delay: 6s", "watch: 10s"))

	v2 := c.push(t, repo+":stable", testenv.App{Version: "2"})
	key := "service/" + svc
	h.waitPhase(t, key, v2, updater.PhaseConverging, time.Minute)
	down := time.Now()
	c.run(t, "down", nodeName(leader))
	back := false
	t.Cleanup(func() {
		if !back {
			c.run(t, "up", nodeName(leader))
		}
	})
	var now string
	elected := waitFor(t, "another leader", time.Minute, func() bool { now = c.leader(t); return now != "" && now != leader })
	c.run(t, "up", nodeName(leader))
	back = true
	t.Logf("leader %s down; %s leads %s later; %s back %s after it went down (hoist talks to %s)", leader, now,
		elected.Sub(down).Round(100*time.Millisecond), leader, time.Since(down).Round(100*time.Millisecond), via)

	end := h.waitEnded(t, key, v2, 3*time.Minute)
	if end.Outcome != updater.Succeeded {
		t.Fatalf("rollout: %s: %s", end.Outcome, end.Reason)
	}
	if rs := h.rolloutsTo(t, key, v2); len(rs) != 1 {
		t.Errorf("%d records to v2, want 1", len(rs))
	}
	c.waitSpread(t, svc, v2, time.Minute)
	if n, _ := attemptsOf(taskHistory(t, c.manager(t), svc), v2); n != 1 {
		t.Errorf("v2 was deployed by %d updates, want 1", n)
	}
	t.Logf("rollout ended %s after it started; what hoist met meanwhile:\n%s", end.Ended.Sub(end.Started).Round(100*time.Millisecond), warnings(h.logs()))
}

// warnings are the warning and error lines of a hoist log, repeats counted.
func warnings(log string) string {
	var order []string
	count := map[string]int{}
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, `"level":"warn"`) && !strings.Contains(l, `"level":"error"`) {
			continue
		}
		var m struct{ Message, Error string }
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		k := m.Message
		if m.Error != "" {
			k += ": " + m.Error
		}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, "  %d× %s\n", count[k], k)
	}
	return b.String()
}
