package swarm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// The canary's task is probed on its node: the canary service publishes the port in
// host mode on a port the node picks (the service's tasks hold theirs). A version whose
// process runs on but whose health endpoint fails 3 s in is caught by the probe within
// the hold; the service's tasks never moved.
func TestCanaryHTTPProbe(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true})
	bad := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateUnhealthy, CrashAfter: 3 * time.Second, NoHealthcheck: true})
	w := e.createWith(v1.Image(), replicated(2), func(s *swarm.ServiceSpec) {
		s.EndpointSpec = &swarm.EndpointSpec{Ports: []swarm.PortConfig{{TargetPort: 8080, PublishMode: swarm.PortConfigPublishModeHost}}}
	})
	before := e.fleet(w)
	p := canaryPlan(20 * time.Second)
	p.HTTPProbe = &updater.HTTPProbe{Port: 8080, Path: "/healthz"}

	start := time.Now()
	res := e.b.Update(context.Background(), []updater.Workload{w}, bad, p, nil, e.log)
	t.Logf("%s after %s: %s", res.Outcome, time.Since(start).Round(time.Second), res.Reason)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "canary 1/2") || !strings.Contains(res.Reason, "status 500") {
		t.Fatalf("outcome %s (%s), want rolled back by the canary's probe", res.Outcome, res.Reason)
	}
	e.assertUntouched(w, before, v1.Image())
	e.assertNoCanary(w)
}
