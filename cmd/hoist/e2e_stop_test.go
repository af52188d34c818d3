package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A hoist stopped with SIGTERM in the middle of a watch hands the rollout over: it
// exits within its shutdown grace, under Docker's default stop timeout (10 s), without
// rolling back or quarantining anything, and leaves the record running for the next
// hoist, which judges the rollout on its merits.

// stopTimeout is Docker's and Swarm's default stop grace period: past it, SIGKILL.
const stopTimeout = 10 * time.Second

// A good image: the next hoist watches it to succeeded; one record, no quarantine.
func TestE2EStopDuringSwarmWatchGood(t *testing.T) {
	t.Parallel()
	runSwarmStop(t, testenv.App{Version: "2-good"}, updater.Succeeded)
}

// An image that crashes 25 s after start, after the stopped hoist has gone: the next
// hoist sees it crash, rolls back and quarantines the digest.
func TestE2EStopDuringSwarmWatchLateCrash(t *testing.T) {
	t.Parallel()
	runSwarmStop(t, testenv.App{Version: "2-latecrash", Mode: testenv.LateCrash, CrashAfter: 25 * time.Second}, updater.RolledBack)
}

func runSwarmStop(t *testing.T, app testenv.App, want updater.Outcome) {
	a := newSwarmApp(t, "e2e-stop-", "", "stable", crashReplicas)
	dc, svc, img1 := a.dc, a.svc, a.img1
	key := "service/" + svc
	evs := recordEvents(t, dc, make(client.Filters).Add("type", string(events.ServiceEventType)).Add("service", svc))
	cfg := crashConfig(fmt.Sprintf("services: [%q]", svc))
	dir := t.TempDir()
	h := startHoistProcess(t, dir, cfg)
	img2 := a.push(t, app)
	_, digest, _ := strings.Cut(img2, "@")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service events:\n%s", evs.describe())
			t.Logf("tasks:\n%s", describeTasks(taskHistory(t, dc, svc), map[string]string{img1: "v1", img2: "v2"}))
		}
	})

	rec := h.waitPhase(t, key, img2, updater.PhaseWatching, 90*time.Second)
	into := time.Since(rec.PhaseAt)
	took := h.term(t)
	t.Logf("SIGTERM %s after the record entered watching; hoist exited %s later", into.Round(time.Millisecond), took.Round(time.Millisecond))
	if took > stopTimeout {
		t.Errorf("hoist took %s to exit after SIGTERM, past the default stop timeout %s", took, stopTimeout)
	}
	if !strings.Contains(h.logs(), "rollout left to the next hoist (phase watching)") {
		t.Errorf("the stopped hoist did not log the hand-over")
	}
	left := storedRecord(t, h.DataDir, rec.ID)
	t.Logf("record #%d after the stop: %s, phase %s", left.ID, left.Outcome, left.Phase)
	if left.Outcome != updater.Running || left.Phase != updater.PhaseWatching {
		t.Fatalf("record after the stop: %s in phase %s (%s), want running in phase watching", left.Outcome, left.Phase, left.Reason)
	}
	if got := serviceImage(t, dc, svc); got != img2 {
		t.Fatalf("after the stop the service runs %s, want %s: the stopped hoist must not roll back", got, img2)
	}
	if stillQuarantined(t, h.DataDir, key, digest) {
		t.Fatal("the stopped hoist quarantined the digest")
	}

	h2 := resumeAfterStop(t, dir, cfg, key, img2, rec.ID, want)
	if n := evs.serviceUpdatesTo(t, img2); n != 1 {
		t.Errorf("the engine saw %d service updates to v2, want exactly 1", n)
	}
	if want == updater.RolledBack {
		checkQuarantined(t, h2, key, digest)
		if got := serviceImage(t, dc, svc); got != img1 {
			t.Errorf("the service runs %s, want v1 back", got)
		}
		return
	}
	if it, ok := h2.workload(t, key); !ok || it.Action == updater.Quarantined || len(it.Quarantined) > 0 {
		t.Errorf("%s: action %q, quarantined %+v; want the good digest kept", key, it.Action, it.Quarantined)
	}
	if got := serviceImage(t, dc, svc); got != img2 || runningTasks(t, dc, svc, img2) != crashReplicas {
		t.Errorf("the service runs %s with %d tasks on v2, want v2 on every replica", got, runningTasks(t, dc, svc, img2))
	}
}

// term sends SIGTERM and waits (at most a minute) for the process to exit; it returns
// how long that took.
func (h *hoistProcess) term(t *testing.T) time.Duration {
	t.Helper()
	at := time.Now()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.done:
	case <-time.After(time.Minute):
		t.Fatalf("hoist still running a minute after SIGTERM")
	}
	return time.Since(at)
}

// storedRecord reads one record from a stopped hoist's data_dir.
func storedRecord(t *testing.T, dataDir string, id uint64) updater.Rollout {
	t.Helper()
	s, err := app.OpenStore(dataDir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// stillQuarantined reads a stopped hoist's data_dir for a quarantined digest.
func stillQuarantined(t *testing.T, dataDir, workload, digest string) bool {
	t.Helper()
	s, err := app.OpenStore(dataDir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q, err := s.IsQuarantined(workload, digest)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// A standalone container, stopped during the watch: the replacement keeps the name, the
// original waits as NAME-hoist-old, and the next hoist finishes the swap.
func TestE2EStopDuringContainerWatchGood(t *testing.T) {
	t.Parallel()
	runContainerStop(t, testenv.App{Version: "2-good", NoHealthcheck: true}, updater.Succeeded)
}

// As TestE2EStopDuringContainerWatchGood with an image that exits 20 s after start:
// the next hoist brings the original container back and quarantines the digest.
func TestE2EStopDuringContainerWatchLateCrash(t *testing.T) {
	t.Parallel()
	runContainerStop(t, testenv.App{Version: "2-latecrash", Mode: testenv.LateCrash, CrashAfter: 20 * time.Second, NoHealthcheck: true}, updater.RolledBack)
}

func runContainerStop(t *testing.T, app testenv.App, want updater.Outcome) {
	dc, reg := shared(t)
	ctx := context.Background()
	name := "e2e-stop-ct-" + randHex(3)
	key := "container/" + name
	repo := reg.Host + "/" + name
	testenv.PushApp(t, repo+":stable", testenv.App{Version: "1", NoHealthcheck: true})
	pull, err := dc.ImagePull(ctx, repo+":stable", client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, pull)
	pull.Close()
	ours := make(client.Filters).Add("label", "e2e.stop="+name)
	cr, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name,
		Config: &container.Config{Image: repo + ":stable", Labels: map[string]string{"e2e.stop": name}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl, _ := dc.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: ours})
		for _, c := range cl.Items {
			dc.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	})
	if _, err := dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	idOf := func(ref string) string {
		r, err := dc.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
		if err != nil {
			return ""
		}
		return r.Container.ID
	}

	cfg := crashConfig(fmt.Sprintf("containers: [%q]", name))
	dir := t.TempDir()
	h := startHoistProcess(t, dir, cfg)
	d := testenv.PushApp(t, repo+":stable", app)
	img2 := repo + ":stable@" + d.String()

	rec := h.waitPhase(t, key, img2, updater.PhaseWatching, 90*time.Second)
	into := time.Since(rec.PhaseAt)
	took := h.term(t)
	t.Logf("SIGTERM %s after the record entered watching; hoist exited %s later", into.Round(time.Millisecond), took.Round(time.Millisecond))
	if took > stopTimeout {
		t.Errorf("hoist took %s to exit after SIGTERM, past the default stop timeout %s", took, stopTimeout)
	}
	if !strings.Contains(h.logs(), "rollout left to the next hoist (phase watching)") {
		t.Errorf("the stopped hoist did not log the hand-over")
	}
	left := storedRecord(t, h.DataDir, rec.ID)
	if left.Outcome != updater.Running || left.Phase != updater.PhaseWatching {
		t.Fatalf("record after the stop: %s in phase %s (%s), want running in phase watching", left.Outcome, left.Phase, left.Reason)
	}
	repl := idOf(name)
	if repl == "" || repl == cr.ID || idOf(name+"-hoist-old") != cr.ID {
		t.Fatalf("after the stop %s is %.12s and %s-hoist-old %.12s; want the replacement and the original %.12s", name, repl, name, idOf(name+"-hoist-old"), cr.ID)
	}
	if stillQuarantined(t, h.DataDir, key, d.String()) {
		t.Fatal("the stopped hoist quarantined the digest")
	}

	h2 := resumeAfterStop(t, dir, cfg, key, img2, rec.ID, want)
	if want == updater.RolledBack {
		checkQuarantined(t, h2, key, d.String())
		if got := idOf(name); got != cr.ID {
			t.Errorf("%s is %.12s, want the original %.12s back", name, got, cr.ID)
		}
		return
	}
	if it, ok := h2.workload(t, key); !ok || it.Action == updater.Quarantined || len(it.Quarantined) > 0 {
		t.Errorf("%s: action %q, quarantined %+v; want the good digest kept", key, it.Action, it.Quarantined)
	}
	if got := idOf(name); got != repl {
		t.Errorf("%s is %.12s, want the replacement %.12s", name, got, repl)
	}
}

// resumeAfterStop starts the next hoist on dir and checks that it ends the record id a
// stopped hoist handed over, as want, in that same record (the only one to img2), and
// that the reason says hoist restarted while watching. It returns the new hoist.
func resumeAfterStop(t *testing.T, dir, cfg, key, img2 string, id uint64, want updater.Outcome) *hoistProcess {
	t.Helper()
	started := time.Now()
	h2 := startHoistProcess(t, dir, cfg)
	end := h2.waitEnded(t, key, img2, 2*time.Minute)
	t.Logf("the next hoist ended record #%d %s after its start: %s (%s), restarts %d",
		end.ID, time.Since(started).Round(100*time.Millisecond), end.Outcome, end.Reason, end.Restarts)
	if end.ID != id || end.Outcome != want || end.Restarts != 1 || !strings.HasPrefix(end.Reason, updater.RestartNote+" (it was watching)") {
		t.Errorf("record #%d: %s (%s), restarts %d; want #%d %s, resumed", end.ID, end.Outcome, end.Reason, end.Restarts, id, want)
	}
	if rs := h2.rolloutsTo(t, key, img2); len(rs) != 1 {
		t.Errorf("%d records to v2, want exactly 1", len(rs))
	}
	return h2
}
