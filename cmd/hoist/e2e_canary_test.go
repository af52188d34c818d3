package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// Issue 19: 10 replicas, a canary of 1 held 60 s (HOIST_CANARY_HOLD for another), an
// image that crashes 40 s after start, and hoist killed with SIGKILL 10 s into the hold.
// The restarted hoist takes the hold up: at most one task ever ran the image, the
// rollout ends rolled back and quarantined, and the service's 10 tasks never restarted.
func TestE2ECanaryKilledDuringHold(t *testing.T) {
	t.Parallel()
	runCanaryKill(t, testenv.App{Version: "2-late", Mode: testenv.LateCrash, CrashAfter: 40 * time.Second}, updater.RolledBack)
}

// As TestE2ECanaryKilledDuringHold with a good image: the restarted hoist ends the hold,
// then the 10 tasks move, and docker service rollback would still go back to v1.
func TestE2ECanaryKilledDuringHoldGoodImage(t *testing.T) {
	t.Parallel()
	runCanaryKill(t, testenv.App{Version: "2"}, updater.Succeeded)
}

const canaryReplicas = 10

func runCanaryKill(t *testing.T, app testenv.App, want updater.Outcome) {
	const replicas = canaryReplicas
	hold := time.Minute
	if s := os.Getenv("HOIST_CANARY_HOLD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		hold = d
	}
	// No HEALTHCHECK: 10 replicas checked every 2 s would cost the engine more CPU than
	// the rest of the test; the canary is judged by its task here.
	a := newSwarmAppOf(t, "e2e-canary-", "", "stable", replicas, testenv.App{Version: "1", NoHealthcheck: true})
	app.NoHealthcheck = true
	dc, svc, img1 := a.dc, a.svc, a.img1
	key := "service/" + svc
	before := taskIDs(t, dc, svc)
	starts := recordEvents(t, dc, make(client.Filters).Add("type", string(events.ContainerEventType)).Add("event", "start"))
	cfg := fmt.Sprintf(`poll: { interval: 1s }
policies:
  - name: canary
    match: { services: [%q] }
    rollout: { parallelism: 5, monitor: 2s, canary: { tasks: 1, hold: %s } }
    health: { watch: 10s, timeout: 3m }
`, svc, hold)
	dir := t.TempDir()
	h := startHoistProcess(t, dir, cfg)

	bad := a.push(t, app)
	_, badDigest, _ := strings.Cut(bad, "@")
	rec := h.waitPhase(t, key, bad, updater.PhaseCanary, 90*time.Second)
	time.Sleep(10 * time.Second)
	killed := h.kill9()
	t.Logf("killed hoist %s into the canary phase", killed.Sub(rec.PhaseAt).Round(time.Second))
	if got := serviceImage(t, dc, svc); got != img1 {
		t.Fatalf("during the hold the service's spec runs %s, want v1", got)
	}

	h2 := startHoistProcess(t, dir, cfg)
	end := h2.waitEnded(t, key, bad, 3*time.Minute)
	t.Logf("record ended %s after the kill: %s (%s), restarts %d", end.Ended.Sub(killed).Round(time.Second), end.Outcome, end.Reason, end.Restarts)
	for _, m := range end.Phases {
		t.Logf("  %s %s %s", m.At.Format(time.TimeOnly), m.Phase, m.Note)
	}
	if want == updater.Succeeded {
		checkCanaryPassed(t, dc, svc, img1, bad, end, rec.ID, starts)
		return
	}
	if end.Outcome != updater.RolledBack || !strings.Contains(end.Reason, "canary 1/10") || end.ID != rec.ID {
		t.Errorf("record #%d: %s (%s), want #%d rolled back by the canary", end.ID, end.Outcome, end.Reason, rec.ID)
	}
	checkQuarantined(t, h2, key, badDigest)

	ran := starts.matching(t, func(m events.Message) bool { return m.Actor.Attributes["image"] == bad })
	t.Logf("containers that ever ran the bad image: %d", len(ran))
	if len(ran) != 1 {
		t.Errorf("%d containers ran the bad image, want only the canary's 1", len(ran))
	}
	after := taskIDs(t, dc, svc)
	if len(after) != len(before) {
		t.Errorf("the service's task history has %d tasks, it had %d: some restarted or were replaced", len(after), len(before))
	}
	for id := range after {
		if !before[id] {
			t.Errorf("task %s is new", id)
		}
	}
	if n := runningTasks(t, dc, svc, img1); n != replicas {
		t.Errorf("%d tasks run v1, want %d", n, replicas)
	}
	checkNoCanary(t, dc, svc)
}

// checkCanaryPassed checks a rollout whose canary passed after a restart: every task
// on the image, one canary task and the service's own ran it, the previous spec v1.
func checkCanaryPassed(t *testing.T, dc *client.Client, svc, img1, img2 string, end updater.Rollout, id uint64, starts *eventLog) {
	t.Helper()
	if end.Outcome != updater.Succeeded || !strings.Contains(end.Reason, "healthy → rolling the rest") || end.ID != id {
		t.Errorf("record #%d: %s (%s), want #%d succeeded after the canary", end.ID, end.Outcome, end.Reason, id)
	}
	if n := runningTasks(t, dc, svc, img2); n != canaryReplicas {
		t.Errorf("%d tasks run the new image, want %d", n, canaryReplicas)
	}
	s := inspectService(t, dc, svc)
	if s.PreviousSpec == nil || serviceSpecImage(swarm.Service{Spec: *s.PreviousSpec}) != img1 {
		t.Errorf("the previous spec is not v1: docker service rollback would not go back to it")
	}
	ran := starts.matching(t, func(m events.Message) bool { return m.Actor.Attributes["image"] == img2 })
	t.Logf("containers started on the new image: %d (the canary's, then the service's %d)", len(ran), canaryReplicas)
	checkNoCanary(t, dc, svc)
}

func checkNoCanary(t *testing.T, dc *client.Client, svc string) {
	t.Helper()
	if _, err := dc.ServiceInspect(t.Context(), svc+"-hoist-canary", client.ServiceInspectOptions{}); err == nil {
		t.Errorf("the canary service is still there")
	}
}

// taskIDs is the set of the service's tasks in Swarm's task history; each must still
// run.
func taskIDs(t *testing.T, dc *client.Client, svc string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, task := range taskHistory(t, dc, svc) {
		out[task.ID] = true
		if task.Status.State != swarm.TaskStateRunning {
			t.Errorf("task %s is %s", task.ID, task.Status.State)
		}
	}
	return out
}
