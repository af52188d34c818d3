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

// sendUpdate makes the update a killed hoist had sent: the target spec with hoist's
// marker, and nobody following it.
func (e *env) sendUpdate(w updater.Workload, t updater.Target, p updater.Plan) {
	e.t.Helper()
	_, sent, err := e.b.update(context.Background(), w.ID, "", func(s swarm.Service) (swarm.ServiceSpec, bool) {
		spec, _ := targetSpec(s.Spec, t.Image(), p)
		return mark(spec, t.Image(), time.Now()), true
	})
	if err != nil || !sent {
		e.t.Fatalf("send update: %v", err)
	}
}

// waitState waits until Swarm's update status reaches one of states.
func (e *env) waitState(w updater.Workload, states ...swarm.UpdateState) swarm.Service {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		svc, err := e.b.inspect(context.Background(), w.ID)
		if err == nil && svc.UpdateStatus != nil {
			for _, s := range states {
				if svc.UpdateStatus.State == s {
					return svc
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("service never reached %v", states)
	return swarm.Service{}
}

// phases records what Resume tells its journal.
type phases struct{ got []updater.Phase }

func (p *phases) journal() updater.Journal {
	return func(ph updater.Phase, _ ...string) { p.got = append(p.got, ph) }
}

// Swarm said completed and the hoist watching died: the new tasks crash 6 s after
// start. Resume watches again, finds the crash and rolls back; Evidence alone (an
// empty store) finds the same update from hoist's marker.
func TestResumeCompletedThenCrash(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 6 * time.Second, NoHealthcheck: true})
	w := e.service(v1.Image(), 2)
	p := fastPlan()
	p.Watch = 20 * time.Second
	e.sendUpdate(w, v2, p)
	e.waitState(w, swarm.UpdateStateCompleted)

	found := e.b.Unfinished(context.Background(), []updater.Workload{w}, func(string) bool { return false },
		func(updater.Workload) (updater.Plan, bool) { return p, true })
	if len(found) != 1 || found[0].Phase != updater.PhaseWatching || found[0].To != v2.Image() || found[0].From != v1.Image() {
		t.Fatalf("evidence of the cut watch: %+v", found)
	}
	var ph phases
	start := time.Now()
	res := e.b.Resume(context.Background(), w, found[0], v2, p, ph.journal(), e.log)
	t.Logf("resume took %s: %+v; phases %v", time.Since(start).Round(time.Millisecond), res, ph.got)
	// The first task may crash while Swarm still updates the second, past its monitor.
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "after the update completed") && !strings.Contains(res.Reason, "while Swarm was still updating") {
		t.Fatalf("outcome %s (%s), want rolled_back for the late crash", res.Outcome, res.Reason)
	}
	// Watching is entered once the tasks run the target; a task that crashed before the
	// resume read them (a loaded machine) is found first, and the watch never starts.
	if n := len(ph.got); n == 0 || ph.got[n-1] != updater.PhaseRollingBack || n > 1 && ph.got[0] != updater.PhaseWatching {
		t.Errorf("phases %v: want rolling_back, after watching if the crash came during the watch", ph.got)
	}
	e.assertOn(w, v1.Image(), 2)
}

// Swarm rolled a crash-at-start image back by itself while no hoist followed it: the
// task history names the digest, and Resume sees the rollback through.
func TestResumeAfterSwarmRollback(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.Crash})
	w := e.service(v1.Image(), 1)
	p := fastPlan()
	e.sendUpdate(w, v2, p)
	e.waitState(w, swarm.UpdateStateRollbackCompleted)

	found := e.b.Unfinished(context.Background(), []updater.Workload{w}, func(string) bool { return false },
		func(updater.Workload) (updater.Plan, bool) { return p, true })
	if len(found) != 1 || found[0].Phase != updater.PhaseRollingBack || found[0].To != v2.Image() || found[0].From != v1.Image() {
		t.Fatalf("evidence of Swarm's rollback: %+v", found)
	}
	res := e.b.Resume(context.Background(), w, found[0], v2, p, nil, e.log)
	t.Logf("%+v", res)
	if res.Outcome != updater.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	e.assertOn(w, v1.Image(), 1)
}

// The record was written and the request never sent: Resume makes the update once.
func TestResumeNeverSent(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 1)
	rec := updater.Rollout{Workload: w.Key(), From: v1.Image(), To: v2.Image(), Started: time.Now(), Phase: updater.PhaseSubmitted}
	var ph phases
	res := e.b.Resume(context.Background(), w, rec, v2, fastPlan(), ph.journal(), e.log)
	t.Logf("%+v; phases %v", res, ph.got)
	if res.Outcome != updater.Succeeded {
		t.Fatalf("outcome %s (%s), want succeeded", res.Outcome, res.Reason)
	}
	e.assertOn(w, v2.Image(), 1)
	svc, _ := e.b.inspect(context.Background(), w.ID)
	if img, _, ok := marker(svc.Spec.TaskTemplate.ContainerSpec); !ok || img != v2.Image() {
		t.Errorf("hoist's marker missing from the spec: %v", svc.Spec.TaskTemplate.ContainerSpec.Labels)
	}
	if svc.PreviousSpec == nil || specImage(*svc.PreviousSpec) != v1.Image() {
		t.Errorf("the update was not one update from v1 (previous spec %v)", svc.PreviousSpec)
	}
	// A second resume of the same record finds the update made and changes nothing.
	before := svc.Version.Index
	res = e.b.Resume(context.Background(), w, rec, v2, fastPlan(), nil, e.log)
	if svc, _ = e.b.inspect(context.Background(), w.ID); svc.Version.Index != before || res.Outcome != updater.Succeeded {
		t.Fatalf("second resume: %+v, spec version %d → %d", res, before, svc.Version.Index)
	}
}
