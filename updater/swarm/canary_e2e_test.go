package swarm

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// canaryHold is the canary's hold in these tests: 60 s, or HOIST_CANARY_HOLD (a shorter
// one still has to outlast the 40 s crash of the bad image).
func canaryHold(t *testing.T, def time.Duration) time.Duration {
	if s := os.Getenv("HOIST_CANARY_HOLD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("HOIST_CANARY_HOLD: %v", err)
		}
		return d
	}
	return def
}

// canaryPlan is fastPlan with a canary of one task, the rest five at a time.
func canaryPlan(hold time.Duration) updater.Plan {
	p := fastPlan()
	p.Parallelism, p.Delay = 5, 0
	p.Canary = &policy.Canary{Tasks: 1, Hold: hold}
	return p
}

// fleet is what a service's own tasks were before the rollout.
type fleet map[string]bool

func (e *env) fleet(w updater.Workload) fleet {
	e.t.Helper()
	ts, err := e.b.tasks(context.Background(), w.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	f := fleet{}
	for _, tk := range ts {
		f[tk.ID] = true
	}
	return f
}

// assertUntouched checks that the service's task history is exactly before, every task
// still running on image: none restarted, none replaced, none ever on another image.
func (e *env) assertUntouched(w updater.Workload, before fleet, image string) {
	e.t.Helper()
	ts, err := e.b.tasks(context.Background(), w.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tk := range ts {
		if !before[tk.ID] {
			e.t.Errorf("task %s (%s, %s) is new: the service's tasks were touched", tk.ID, taskImage(tk), tk.Status.State)
		}
		if taskImage(tk) != image || tk.Status.State != swarm.TaskStateRunning {
			e.t.Errorf("task %s: %s %s, want %s running", tk.ID, taskImage(tk), tk.Status.State, image)
		}
	}
	if len(ts) != len(before) {
		e.t.Errorf("%d tasks in the service's history, want the %d it had", len(ts), len(before))
	}
}

// countStarts follows the engine's events from now on and returns a function that
// says how many containers the engine started on image so far (a canary service's
// tasks leave Swarm's task list with it, and the engine keeps only its last 256 events).
func (e *env) countStarts(image string) func() int {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	res := e.c.Events(ctx, client.EventsListOptions{
		Filters: make(client.Filters).Add("type", string(events.ContainerEventType)).Add("event", "start"),
	})
	var mu sync.Mutex
	n := 0
	go func() {
		for {
			select {
			case m := <-res.Messages:
				if m.Actor.Attributes["image"] == image {
					mu.Lock()
					n++
					mu.Unlock()
				}
			case <-res.Err:
				return
			}
		}
	}()
	return func() int {
		time.Sleep(time.Second) // events still on their way
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// assertNoCanary checks that the canary service is gone.
func (e *env) assertNoCanary(w updater.Workload) {
	e.t.Helper()
	if _, found, err := e.b.findCanary(context.Background(), w.Name); err != nil || found {
		e.t.Errorf("canary service of %s still there (err %v)", w.Name, err)
	}
}

// The scenario: 10 replicas, a canary of 1 held 60 s, an image that crashes
// 40 s after start. Only the canary ever runs it; it fails within the hold; the
// rollout ends rolled back (the updater quarantines it) and the 10 tasks never moved.
func TestCanaryCatchesLateCrash(t *testing.T) {
	e := newEnv(t)
	hold := canaryHold(t, time.Minute)
	// No HEALTHCHECK: 10 replicas checked every 2 s would cost the engine more CPU
	// than the rest of the test; the canary is judged by its task here.
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true})
	bad := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 40 * time.Second, NoHealthcheck: true})
	w := e.service(v1.Image(), 10)
	before := e.fleet(w)
	starts := e.countStarts(bad.Image())

	start := time.Now()
	var marks []string
	j := func(p updater.Phase, notes ...string) { marks = append(marks, string(p)+" "+strings.Join(notes, "; ")) }
	res := e.b.Update(context.Background(), []updater.Workload{w}, bad, canaryPlan(hold), j, e.log)
	took := time.Since(start)
	t.Logf("%s after %s; phases %q", res.Outcome, took.Round(time.Second), marks)
	t.Logf("reason: %s", res.Reason)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "canary 1/10") {
		t.Fatalf("outcome %s (%s), want rolled back by the canary", res.Outcome, res.Reason)
	}
	if took >= 40*time.Second+hold {
		t.Errorf("took %s: the failure was not caught within the hold", took)
	}
	if n := starts(); n != 1 {
		t.Errorf("%d containers ran the bad image, want only the canary's 1", n)
	} else {
		t.Logf("containers that ever ran the bad image: %d", n)
	}
	e.assertUntouched(w, before, v1.Image())
	e.assertNoCanary(w)
	if res.Logs == "" || !strings.Contains(res.Logs, "crashing late") {
		t.Errorf("logs of the canary not kept: %q", res.Logs)
	}
}

// A good image: the canary runs the hold, then the 10 tasks move and the canary goes.
func TestCanaryPassesThenRollsTheRest(t *testing.T) {
	e := newEnv(t)
	hold := canaryHold(t, 20*time.Second)
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true}) // as in TestCanaryCatchesLateCrash
	v2 := e.push("v2", testenv.App{Version: "2", NoHealthcheck: true})
	w := e.service(v1.Image(), 10)

	start := time.Now()
	var marks []string
	j := func(p updater.Phase, notes ...string) { marks = append(marks, string(p)+" "+strings.Join(notes, "; ")) }
	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, canaryPlan(hold), j, e.log)
	t.Logf("%s after %s; phases %q", res.Outcome, time.Since(start).Round(time.Second), marks)
	if res.Outcome != updater.Succeeded || !strings.Contains(res.Reason, "healthy → rolling the rest") {
		t.Fatalf("outcome %s (%s), want succeeded after the canary", res.Outcome, res.Reason)
	}
	if time.Since(start) < hold {
		t.Errorf("done in %s, before the hold of %s ended", time.Since(start), hold)
	}
	e.assertOn(w, v2.Image(), 10)
	e.assertNoCanary(w)
	if got := strings.Join(marks, " | "); !strings.Contains(got, "converging canary 1/10 on ") {
		t.Errorf("the canary's verdict is not noted with the converging phase: %s", got)
	}
	// docker service rollback still means the image before.
	svc, err := e.b.inspect(context.Background(), w.ID)
	if err != nil || svc.PreviousSpec == nil || specImage(*svc.PreviousSpec) != v1.Image() {
		t.Errorf("previous spec is not the image before (err %v)", err)
	}
}

// hoist stops during the hold; the next one takes the hold up from the canary service
// and the record, and the outcome is the same: the bad image caught by its only task.
func TestCanaryResumedAfterStopDuringHold(t *testing.T) {
	e := newEnv(t)
	hold := canaryHold(t, time.Minute)
	// No HEALTHCHECK: 10 replicas checked every 2 s would cost the engine more CPU
	// than the rest of the test; the canary is judged by its task here.
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true})
	bad := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 40 * time.Second, NoHealthcheck: true})
	w := e.service(v1.Image(), 10)
	before := e.fleet(w)
	starts := e.countStarts(bad.Image())
	plan := canaryPlan(hold)

	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := updater.Rollout{ID: 1, Workload: w.Key(), From: v1.Image(), To: bad.Image(), Started: start, Plan: &plan, Outcome: updater.Running}
	rec.Enter(updater.PhaseSubmitted, start)
	j := func(p updater.Phase, _ ...string) {
		rec.Enter(p, time.Now())
		if p == updater.PhaseCanary {
			time.AfterFunc(10*time.Second, cancel) // hoist stops 10 s into the canary
		}
	}
	e.b.shutdownGrace = time.Second
	res := e.b.Update(ctx, []updater.Workload{w}, bad, plan, j, e.log)
	t.Logf("first hoist: %s (%s) after %s", res.Outcome, res.Reason, time.Since(start).Round(time.Second))
	if res.Outcome != updater.HandedOver || rec.Phase != updater.PhaseCanary {
		t.Fatalf("outcome %s in phase %s, want handed over in the canary", res.Outcome, rec.Phase)
	}
	if _, found, _ := e.b.findCanary(context.Background(), w.Name); !found {
		t.Fatal("the canary service is gone with the hoist that stopped")
	}
	// A hoist whose store was lost finds the rollout from the canary service alone.
	found := New(e.c).Unfinished(context.Background(), []updater.Workload{w}, func(string) bool { return false },
		func(updater.Workload) (updater.Plan, bool) { return plan, true })
	if len(found) != 1 || found[0].Phase != updater.PhaseCanary || found[0].From != v1.Image() || found[0].To != bad.Image() {
		t.Errorf("from the engine alone: %+v, want one rollout v1 → bad in the canary phase", found)
	}

	next := New(e.c) // the next hoist
	resumed := time.Now()
	res = next.Resume(context.Background(), w, rec, bad, plan, func(p updater.Phase, _ ...string) { rec.Enter(p, time.Now()) }, e.log)
	t.Logf("resumed: %s after %s (%s)", res.Outcome, time.Since(resumed).Round(time.Second), res.Reason)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "canary 1/10") {
		t.Fatalf("outcome %s (%s), want rolled back by the canary", res.Outcome, res.Reason)
	}
	if n := starts(); n != 1 {
		t.Errorf("%d containers ran the bad image, want only the canary's 1", n)
	}
	e.assertUntouched(w, before, v1.Image())
	e.assertNoCanary(w)

	// A third hoist, stopped as the canary was being removed, ends it the same way
	// without starting another canary.
	res = New(e.c).Resume(context.Background(), w, rec, bad, plan, nil, e.log)
	if res.Outcome != updater.RolledBack {
		t.Errorf("resuming a failed canary again: %s (%s)", res.Outcome, res.Reason)
	}
	if n := starts(); n != 1 {
		t.Errorf("%d containers ran the bad image after a second resume, want 1", n)
	}
	var phases []string
	for _, m := range rec.Phases {
		phases = append(phases, string(m.Phase))
	}
	t.Logf("record phases: %v", phases)
}
