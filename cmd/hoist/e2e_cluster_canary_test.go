//go:build cluster

package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// Issue 19 on the five-node cluster: a service of 10 tasks, two on each node, and a
// canary of one held 25 s. An image that crashes 8 s after it starts is stopped at its
// canary: one container ever ran it, on one node, and none of the service's tasks
// restarted. A good image then reaches all 10 tasks after the hold, still two a node,
// and the record's note names the node the canary ran on.
func TestClusterCanary(t *testing.T) {
	t.Parallel() // disturbs no node
	c := newCluster(t)
	svc := "cl-canary-" + randHex(3)
	repo := c.registry + "/cluster/" + svc
	v1 := c.push(t, repo+":stable", testenv.App{Version: "1"})
	c.spreadService(t, svc, v1, clusterCanaryReplicas)
	dc := c.manager(t)
	key := "service/" + svc
	starts := c.containerStarts(t)
	const hold = 25 * time.Second
	rollout := fmt.Sprintf("parallelism: 5, monitor: 2s, canary: { tasks: 1, hold: %s }", hold)
	h := startHoistProcess(t, t.TempDir(), c.hoistConfig(c.sock(c.managers[0]), svc, rollout, "watch: 5s"))

	t.Run("crash during the hold", func(t *testing.T) {
		before := taskIDs(t, dc, svc)
		bad := c.push(t, repo+":stable", testenv.App{Version: "2-late", Mode: testenv.LateCrash, CrashAfter: 8 * time.Second})
		pushed := time.Now()
		r := h.waitEnded(t, key, bad, 3*time.Minute)
		logPhases(t, r, pushed)
		ran := starts.on(t, bad, "")
		t.Logf("containers that ran the bad image, by node: %v", ran)
		if r.Outcome != updater.RolledBack || !strings.Contains(r.Reason, "canary 1/10") {
			t.Fatalf("rollout: %s (%s), want rolled back by the canary", r.Outcome, r.Reason)
		}
		_, digest, _ := strings.Cut(bad, "@")
		checkQuarantined(t, h, key, digest)
		if total(ran) != 1 {
			t.Errorf("%d containers ran the bad image (%v), want only the canary's", total(ran), ran)
		}
		for node := range ran {
			if !strings.Contains(r.Reason, node) {
				t.Errorf("the reason does not name the canary's node %s: %s", node, r.Reason)
			}
		}
		if got := serviceImage(t, dc, svc); got != v1 {
			t.Errorf("the service's spec runs %s, want v1", got)
		}
		after := taskIDs(t, dc, svc)
		if !maps.Equal(before, after) {
			t.Errorf("the service's tasks changed: %d before, %d after (some restarted or were replaced)", len(before), len(after))
		}
		checkNoCanary(t, dc, svc)
	})

	t.Run("good image", func(t *testing.T) {
		good := c.push(t, repo+":stable", testenv.App{Version: "3"})
		pushed := time.Now()
		r := h.waitEnded(t, key, good, 4*time.Minute)
		logPhases(t, r, pushed)
		if r.Outcome != updater.Succeeded || !strings.Contains(r.Reason, "healthy → rolling the rest") {
			t.Fatalf("rollout: %s (%s), want succeeded after the canary", r.Outcome, r.Reason)
		}
		canary := starts.on(t, good, svc+"-hoist-canary")
		if total(canary) != 1 {
			t.Fatalf("canary containers on the good image, by node: %v, want 1", canary)
		}
		node := slices.Collect(maps.Keys(canary))[0]
		i := slices.IndexFunc(r.Phases, func(p updater.PhaseMark) bool { return p.Phase == updater.PhaseConverging })
		if i < 0 || !strings.Contains(r.Phases[i].Note, "on "+node+",") {
			t.Errorf("the converging note does not name the canary's node %s: %+v", node, r.Phases)
		}
		spread := c.runningByNode(t, svc, good)
		t.Logf("canary on %s; tasks on the good image by node: %v", node, spread)
		if total(spread) != clusterCanaryReplicas || len(spread) != len(c.managers)+len(c.workers) {
			t.Errorf("tasks on the good image by node: %v, want %d over all %d nodes", spread, clusterCanaryReplicas, len(c.managers)+len(c.workers))
		}
		checkNoCanary(t, dc, svc)
	})
}

const clusterCanaryReplicas = 10

// spreadService runs image as a service of replicas tasks over every node, at most
// two a node, created by the operator, and waits until all run.
func (c *cluster) spreadService(t *testing.T, name, image string, replicas uint64) {
	t.Helper()
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"hoist.test": "cluster"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: image},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
			Placement:     &swarm.Placement{MaxReplicas: 2},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
	_, err := c.manager(t).ServiceCreate(context.Background(), client.ServiceCreateOptions{Spec: spec, EncodedRegistryAuth: c.auth(c.deployUser, c.deploy)})
	if err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	t.Cleanup(func() { c.manager(t).ServiceRemove(context.Background(), name, client.ServiceRemoveOptions{}) })
	waitFor(t, fmt.Sprintf("service %s running %d tasks on %s", name, replicas, image), 2*time.Minute, func() bool {
		return total(c.runningByNode(t, name, image)) == int(replicas)
	})
}

// runningByNode counts the tasks of svc that run image, by node hostname.
func (c *cluster) runningByNode(t *testing.T, svc, image string) map[string]int {
	t.Helper()
	nodes := c.nodes(t)
	out := map[string]int{}
	for _, task := range taskHistory(t, c.manager(t), svc) {
		if task.DesiredState == swarm.TaskStateRunning && task.Status.State == swarm.TaskStateRunning && taskImage(task) == image {
			out[hostOf(nodes, task.NodeID)]++
		}
	}
	return out
}

// nodeStarts records the container start events of every node's own engine.
type nodeStarts map[string]*eventLog // by hostname

func (c *cluster) containerStarts(t *testing.T) nodeStarts {
	t.Helper()
	f := make(client.Filters).Add("type", string(events.ContainerEventType)).Add("event", "start")
	out := nodeStarts{}
	for _, n := range append(slices.Clone(c.managers), c.workers...) {
		out["hoist-"+n] = recordEvents(t, c.client(t, n), f)
	}
	return out
}

// on counts the containers started on image (of service svc when not ""), by node.
func (s nodeStarts) on(t *testing.T, image, svc string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for node, l := range s {
		n := len(l.matching(t, func(m events.Message) bool {
			return m.Actor.Attributes["image"] == image && (svc == "" || m.Actor.Attributes["com.docker.swarm.service.name"] == svc)
		}))
		if n > 0 {
			out[node] = n
		}
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// logPhases logs a record's phases, timed from the push.
func logPhases(t *testing.T, r updater.Rollout, pushed time.Time) {
	t.Helper()
	t.Logf("%s %s after the push: %s", r.Outcome, r.Ended.Sub(pushed).Round(100*time.Millisecond), r.Reason)
	for _, p := range r.Phases {
		t.Logf("  +%s %s %s", p.At.Sub(pushed).Round(100*time.Millisecond), p.Phase, p.Note)
	}
}
