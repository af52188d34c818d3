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

// A service's own update config (a stack file's update_config) survives a rollout for
// every setting the policy leaves out; only the failure action becomes rollback.
func TestUpdateKeepsServiceSettings(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.createWith(v1.Image(), replicated(2), func(s *swarm.ServiceSpec) {
		s.UpdateConfig = &swarm.UpdateConfig{Parallelism: 2, Delay: 1500 * time.Millisecond, Order: swarm.UpdateOrderStopFirst,
			FailureAction: swarm.UpdateFailureActionPause, Monitor: 4 * time.Second}
	})
	p := fastPlan()
	p.StartFirst, p.Parallelism, p.Monitor = true, 1, 2*time.Second
	p.Written = updater.FieldMonitor

	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log)
	if res.Outcome != updater.Succeeded || res.Order != "stop-first (the service's own update config)" {
		t.Fatalf("%s, order %q (%s); want succeeded, stop-first from the service", res.Outcome, res.Order, res.Reason)
	}
	e.assertOn(w, v2.Image(), 2)
	svc, err := e.b.inspect(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	uc := svc.Spec.UpdateConfig
	if uc == nil || uc.Parallelism != 2 || uc.Delay != 1500*time.Millisecond || uc.Order != swarm.UpdateOrderStopFirst ||
		uc.Monitor != 2*time.Second || uc.FailureAction != swarm.UpdateFailureActionRollback {
		t.Fatalf("update config after the rollout: %+v; want parallelism 2, delay 1.5s, stop-first kept, monitor 2s from the policy, failure action rollback", uc)
	}
}

// A service publishing a host-mode port cannot run two tasks on one node: with no order
// written anywhere, hoist goes stop-first instead of a start-first that could never
// place the new task.
func TestUpdateHostPortStopFirst(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.createWith(v1.Image(), replicated(1), publishHost(freePort(t)))
	svc, err := e.b.inspect(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.UpdateConfig != nil {
		t.Fatalf("the engine gave the service an update config of its own (%+v); this case needs one without", svc.Spec.UpdateConfig)
	}
	p := fastPlan()
	p.StartFirst, p.Written = true, 0

	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log)
	if res.Outcome != updater.Succeeded || !strings.HasPrefix(res.Order, "stop-first (the service publishes a port in host mode") {
		t.Fatalf("%s, order %q (%s); want succeeded stop-first for the host-mode port", res.Outcome, res.Order, res.Reason)
	}
	e.assertOn(w, v2.Image(), 1)
}
