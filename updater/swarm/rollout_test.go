package swarm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

func TestUpdateHealthy(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 1)

	ws, err := e.b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var listed *updater.Workload
	for i := range ws {
		if ws[i].ID == w.ID {
			listed = &ws[i]
		}
	}
	if listed == nil || listed.Name != w.Name || listed.Image != v1.Image() || listed.Kind != policy.Service || listed.Labels["hoist.test"] != "swarm" || listed.HasPrevious {
		t.Fatalf("List: got %+v for service %s", listed, w.Name)
	}

	start := time.Now()
	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, fastPlan(), nil, e.log)
	t.Logf("update took %s: %+v", time.Since(start).Round(time.Millisecond), res)
	if res.Outcome != updater.Succeeded {
		t.Fatalf("outcome %s (%s), want succeeded", res.Outcome, res.Reason)
	}
	e.assertOn(w, v2.Image(), 1)
	svc, _ := e.b.inspect(context.Background(), w.ID)
	if got := digestOf(t, specImage(svc.Spec)); got != v2.Digest {
		t.Errorf("spec pinned to %s, want v2's digest %s", got, v2.Digest)
	}
	if svc.PreviousSpec == nil || specImage(*svc.PreviousSpec) != v1.Image() {
		t.Errorf("previous spec does not hold v1")
	}
}

func TestUpdateCrashAtStart(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.Crash})
	w := e.service(v1.Image(), 1)

	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, fastPlan(), nil, e.log)
	t.Logf("%+v", res)
	if res.Outcome != updater.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	if res.Reason == "" {
		t.Error("no reason given")
	}
	e.assertOn(w, v1.Image(), 1)
}

func TestUpdateUnhealthy(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.Unhealthy})
	w := e.service(v1.Image(), 1)

	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, fastPlan(), nil, e.log)
	t.Logf("%+v", res)
	if res.Outcome != updater.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	e.assertOn(w, v1.Image(), 1)
}

// A crash after Swarm's monitor window is reported completed by Swarm; hoist's watch
// must catch it and roll back.
func TestUpdateLateCrash(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 6 * time.Second})
	w := e.service(v1.Image(), 1)

	p := fastPlan()
	p.Watch = 10 * time.Second
	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log)
	t.Logf("%+v", res)
	if res.Outcome != updater.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	// On a loaded machine the crash may come before Swarm completes, past its monitor
	// window: hoist's watch finds it all the same.
	if !strings.Contains(res.Reason, "after the update completed") && !strings.Contains(res.Reason, "while Swarm was still updating") {
		t.Errorf("reason %q does not say hoist's watch caught it", res.Reason)
	}
	e.assertOn(w, v1.Image(), 1)
	svc, _ := e.b.inspect(context.Background(), w.ID)
	if svc.UpdateStatus == nil || svc.UpdateStatus.State != "rollback_completed" {
		t.Errorf("update status %+v, want hoist's rollback completed", svc.UpdateStatus)
	}
}

func TestUpdateSameImageSkips(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	w := e.service(v1.Image(), 1)
	before, err := e.b.inspect(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	res := e.b.Update(context.Background(), []updater.Workload{w}, v1, fastPlan(), nil, e.log)
	if res.Outcome != updater.Skipped {
		t.Fatalf("outcome %s (%s), want skipped", res.Outcome, res.Reason)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("skipping took %s", d)
	}
	after, err := e.b.inspect(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version.Index != before.Version.Index || after.UpdateStatus != nil || after.PreviousSpec != nil {
		t.Errorf("an update was started: version %d→%d, status %+v", before.Version.Index, after.Version.Index, after.UpdateStatus)
	}
	e.assertOn(w, v1.Image(), 1)
}

func TestUpdateGlobal(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.create(v1.Image(), swarm.ServiceMode{Global: &swarm.GlobalService{}})

	p := fastPlan()
	p.Watch = 2 * time.Second
	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log)
	if res.Outcome != updater.Succeeded {
		t.Fatalf("outcome %s (%s), want succeeded", res.Outcome, res.Reason)
	}
	e.assertOn(w, v2.Image(), 1) // one node
}

func TestUpdateNoReplicas(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 0)

	start := time.Now()
	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, fastPlan(), nil, e.log)
	if res.Outcome != updater.Succeeded {
		t.Fatalf("outcome %s (%s), want succeeded", res.Outcome, res.Reason)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	e.assertOn(w, v2.Image(), 0)
}

// Swarm rolls back with the old spec's RollbackConfig, whose FailureAction defaults to
// pause: an old task that fails during the rollback's monitor window leaves the service
// rollback_paused, possibly on two images. hoist gets the rollback going again.
func TestUpdateRollbackPausedIsResumed(t *testing.T) {
	e := newEnv(t)
	// The old image is flaky: it crashes 4 s after each start, inside the rollback's
	// default 5 s monitor window.
	v1 := e.push("v1", testenv.App{Version: "1", Mode: testenv.LateCrash, CrashAfter: 4 * time.Second})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.Crash})
	w := e.service(v1.Image(), 1)

	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, fastPlan(), nil, e.log)
	t.Logf("%+v", res)
	if res.Outcome != updater.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	svc, err := e.b.inspect(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := specImage(svc.Spec); got != v1.Image() {
		t.Errorf("spec image %s, want %s", got, v1.Image())
	}
	if st := svc.UpdateStatus; st != nil && (st.State == swarm.UpdateStatePaused || st.State == swarm.UpdateStateRollbackPaused) {
		t.Errorf("service left %s: %s", st.State, st.Message)
	}
	ts, err := e.b.tasks(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		if tk.DesiredState == swarm.TaskStateRunning && taskImage(tk) != v1.Image() {
			t.Errorf("task %s still wanted on %s", tk.ID, taskImage(tk))
		}
	}
}
