//go:build cluster

package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A service on the workers publishes its port in host mode; hoist runs on a manager,
// where no task runs. An image without a HEALTHCHECK whose health endpoint starts
// failing 8 s after start, on one worker only: Swarm sees nothing wrong (the process
// runs on), and only the HTTP probe, which reaches each task on its node's address,
// can tell. hoist rolls the service back.
func TestClusterProbeReachesOtherNodes(t *testing.T) {
	t.Parallel() // disturbs no node
	c := newCluster(t)
	svc := "cl-probe-" + randHex(3)
	repo := c.registry + "/cluster/" + svc
	published := uint32(30000 + rand.IntN(2000))
	hostPort := func(spec *swarm.ServiceSpec) {
		nodeEnv(spec)
		spec.EndpointSpec = &swarm.EndpointSpec{Ports: []swarm.PortConfig{{TargetPort: 8080, PublishedPort: published, PublishMode: swarm.PortConfigPublishModeHost}}}
	}
	v1 := c.push(t, repo+":stable", testenv.App{Version: "1", NoHealthcheck: true})
	c.workerService(t, svc, v1, hostPort)

	victim := "hoist-" + c.workers[len(c.workers)-1]
	bad := c.push(t, repo+":stable", testenv.App{Version: "2", Mode: testenv.LateUnhealthy, NoHealthcheck: true,
		CrashAfter: 8 * time.Second, CrashOn: "HOIST_NODE=" + victim})
	health := "watch: 30s, http: { port: 8080, path: /healthz }"
	h := startHoistProcess(t, t.TempDir(), c.hoistConfig(c.sock(c.managers[0]), svc, "monitor: 2s", health))
	r := h.waitEnded(t, "service/"+svc, bad, 3*time.Minute)
	if r.Outcome != updater.RolledBack {
		t.Fatalf("rollout: %s: %s", r.Outcome, r.Reason)
	}
	want := fmt.Sprintf("http probe http://10.231.0.1%s:%d/healthz: status 500", strings.TrimPrefix(c.workers[len(c.workers)-1], "n"), published)
	if !strings.Contains(r.Reason, want) {
		t.Errorf("reason %q does not name %q", r.Reason, want)
	}
	c.waitSpread(t, svc, v1, time.Minute)
	t.Logf("rolled back: %s (%s after the rollout started)", r.Reason, r.Ended.Sub(r.Started).Round(100*time.Millisecond))
}
