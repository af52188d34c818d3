package swarm

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// freePort returns a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// publishHost publishes the app's port 8080 on the host in host mode.
func publishHost(port int) func(*swarm.ServiceSpec) {
	return func(s *swarm.ServiceSpec) {
		s.EndpointSpec = &swarm.EndpointSpec{Ports: []swarm.PortConfig{{
			TargetPort: 8080, PublishedPort: uint32(port), PublishMode: swarm.PortConfigPublishModeHost,
		}}}
	}
}

func probePlan() updater.Plan {
	p := fastPlan()
	p.HTTPProbe = &updater.HTTPProbe{Port: 8080, Path: "/healthz"}
	return p
}

// A version whose process runs (no HEALTHCHECK, no crash, so Swarm sees nothing wrong)
// but whose health endpoint answers 500 is rolled back by hoist's HTTP probe.
func TestUpdateHTTPProbeFails(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.Unhealthy, NoHealthcheck: true})
	w := e.createWith(v1.Image(), replicated(1), publishHost(freePort(t)))

	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, probePlan(), nil, e.log)
	t.Logf("%+v", res)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "status 500") || !strings.Contains(res.Reason, "3 times in a row") {
		t.Fatalf("outcome %s (%s), want rolled_back on the probe's status 500", res.Outcome, res.Reason)
	}
	e.assertOn(w, v1.Image(), 1)

	// Without the probe the same version passes: Swarm and the task states see no fault.
	res = e.b.Update(context.Background(), []updater.Workload{w}, v2, fastPlan(), nil, e.log)
	if res.Outcome != updater.Succeeded {
		t.Fatalf("without a probe: %s (%s), want succeeded", res.Outcome, res.Reason)
	}
}

// A healthy version passes the probe; a service whose port hoist cannot reach passes
// with the record saying the probe did not run.
func TestUpdateHTTPProbePasses(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true})
	v2 := e.push("v2", testenv.App{Version: "2", NoHealthcheck: true})
	published := e.createWith(v1.Image(), replicated(1), publishHost(freePort(t)))
	hidden := e.create(v1.Image(), replicated(1))

	res := e.b.Update(context.Background(), []updater.Workload{published}, v2, probePlan(), nil, e.log)
	if res.Outcome != updater.Succeeded || res.Reason != "" {
		t.Fatalf("published port: %s (%s), want succeeded", res.Outcome, res.Reason)
	}
	e.assertOn(published, v2.Image(), 1)

	res = e.b.Update(context.Background(), []updater.Workload{hidden}, v2, probePlan(), nil, e.log)
	if res.Outcome != updater.Succeeded || !strings.Contains(res.Reason, "HTTP probe not run") || !strings.Contains(res.Reason, "8080") {
		t.Fatalf("unreachable port: %s (%s), want succeeded saying the probe did not run", res.Outcome, res.Reason)
	}
	e.assertOn(hidden, v2.Image(), 1)
}

func replicated(n uint64) swarm.ServiceMode {
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
}

// A probe that fails against the running version too (here a path the app does not
// serve) cannot judge the new one: it is not used, and a good image is not rolled back.
func TestUpdateHTTPProbeFailingBaseline(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true})
	v2 := e.push("v2", testenv.App{Version: "2", NoHealthcheck: true})
	w := e.createWith(v1.Image(), replicated(1), publishHost(freePort(t)))
	p := probePlan()
	p.HTTPProbe.Path = "/no-such-path"

	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log)
	if res.Outcome != updater.Succeeded || !strings.Contains(res.Reason, "HTTP probe not used: it fails against the running version too") || !strings.Contains(res.Reason, "status 404") {
		t.Fatalf("%s (%s); want succeeded, saying the probe was not used", res.Outcome, res.Reason)
	}
	e.assertOn(w, v2.Image(), 1)
}
