package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A failure seen before hoist stops is still rolled back: the rollback is asked of
// Swarm, and when the grace ends before it has converged, the wait is handed over.
// Swarm finishes the rollback by itself, and the next hoist's Resume sees it through
// to rolled_back.
func TestRollbackHandedOverOnStop(t *testing.T) {
	e := newEnv(t)
	e.b.shutdownGrace = time.Millisecond
	v1 := e.push("v1", testenv.App{Version: "1"})
	bad := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 4 * time.Second})
	w := e.service(v1.Image(), 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var phases []updater.Phase
	j := func(p updater.Phase, _ ...string) {
		phases = append(phases, p)
		if p == updater.PhaseRollingBack {
			cancel() // hoist stops as it starts rolling back
		}
	}
	started := time.Now()
	res := e.b.Update(ctx, []updater.Workload{w}, bad, fastPlan(), j, e.log)
	t.Logf("%+v; phases %v", res, phases)
	if res.Outcome != updater.HandedOver {
		t.Fatalf("outcome %s (%s), want handed_over", res.Outcome, res.Reason)
	}
	svc, err := e.b.inspect(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := specImage(svc.Spec); got != v1.Image() {
		t.Fatalf("after the hand-over the spec runs %s: the rollback was not asked for", got)
	}

	rec := updater.Rollout{Workload: "service/" + w.Name, From: v1.Image(), To: bad.Image(), Started: started, Phase: updater.PhaseRollingBack}
	res = New(e.c).Resume(context.Background(), w, rec, bad, fastPlan(), nil, e.log)
	t.Logf("resumed: %+v", res)
	if res.Outcome != updater.RolledBack {
		t.Fatalf("resumed outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	e.assertOn(w, v1.Image(), 1)
}
