package container

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// These tests play hoist's own container with the test app: the old hoist prepares the
// swap, Switch (what the switcher container runs) is called here, and a stand-in
// switcher container that exits with the verdict's code is what the next hoist reads.

// selfSetup runs the "old hoist" on v1 and prepares its swap to target.
func selfSetup(t *testing.T, e *env, target updater.Target) (old container.InspectResponse, s *swap) {
	t.Helper()
	v1 := e.push("v1", testenv.App{Version: "v1"})
	old = e.run("", v1.Tag.String(), &container.Config{Labels: map[string]string{"hoist.policy": "self"}},
		&container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "unless-stopped"}}, nil)
	if err := e.b.pull(e.ctx, target.Image(), ""); err != nil {
		t.Fatal(err)
	}
	s = e.b.newSwap(old, target.Image(), plan(), e.log)
	if err := s.prepareSelf(e.ctx); err != nil {
		t.Fatal(err)
	}
	return old, s
}

// standInSwitcher leaves <name>-hoist-switch exited with code 0 (-h) or 2 (bad flag).
func standInSwitcher(t *testing.T, e *env, image string, ok bool) {
	t.Helper()
	arg := "-h"
	if !ok {
		arg = "-no-such-flag"
	}
	r, err := e.c.ContainerCreate(e.ctx, client.ContainerCreateOptions{Name: e.prefix + suffixSwitch,
		Config: &container.Config{Image: image, Entrypoint: []string{"/app", arg}, Healthcheck: &container.HealthConfig{Test: []string{"NONE"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ContainerStart(e.ctx, r.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
}

func selfResume(e *env, self string, target updater.Target) (updater.Result, []updater.Phase) {
	b := New(e.c, WithLogger(e.log), WithSelf(self, ""))
	var phases []updater.Phase
	rec := updater.Rollout{Workload: "container/" + e.prefix, To: target.Image(), Phase: updater.PhaseConverging}
	res := b.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix}, rec, target, plan(),
		func(p updater.Phase, _ ...string) { phases = append(phases, p) }, e.log)
	return res, phases
}

// A good new hoist: the switcher stops the old one and passes the new one; the new
// hoist finishes the swap and records it.
func TestSelfSwitchGood(t *testing.T) {
	e := newEnv(t)
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old, s := selfSetup(t, e, v2)
	sp := SwitchSpec{Name: e.prefix, Old: old.ID, New: s.newID, Watch: 3 * time.Second, Timeout: 30 * time.Second}
	if err := e.b.Switch(e.ctx, sp); err != nil {
		t.Fatalf("switch: %v", err)
	}
	if running(e.inspect(old.ID)) || !running(e.inspect(s.newID)) {
		t.Fatal("after the switch the old hoist runs, or the new one does not")
	}
	standInSwitcher(t, e, v2.Image(), true)
	res, phases := selfResume(e, s.newID, v2)
	if res.Outcome != updater.Succeeded || !strings.Contains(res.Reason, "recorded by the hoist in container "+s.newID[:12]) {
		t.Fatalf("resume: %s (%s), want succeeded, recorded by the new hoist", res.Outcome, res.Reason)
	}
	names := e.names()
	if len(names) != 2 || names[e.prefix] != s.newID || names[e.prefix+suffixPrev] != old.ID {
		t.Fatalf("after resume: %v, want the new hoist under the name and the old one kept", names)
	}
	t.Logf("phases %v; %s", phases, res.Reason)
}

// A crashing new hoist: the switcher brings the old one back and keeps the failed one;
// a switcher run again changes nothing; the old hoist records the rollback with the
// failed one's logs and removes what the switch left.
func TestSelfSwitchBack(t *testing.T) {
	e := newEnv(t)
	v2 := e.push("v2", testenv.App{Version: "v2", Mode: testenv.Crash})
	old, s := selfSetup(t, e, v2)
	sp := SwitchSpec{Name: e.prefix, Old: old.ID, New: s.newID, Watch: 3 * time.Second, Timeout: 30 * time.Second}
	for i := range 2 {
		err := e.b.Switch(e.ctx, sp)
		if !errors.Is(err, ErrSwitchedBack) {
			t.Fatalf("switch %d: %v, want the old hoist back", i+1, err)
		}
		names := e.names()
		if len(names) != 2 || names[e.prefix] != old.ID || names[e.prefix+suffixFailed] != s.newID || !running(e.inspect(old.ID)) {
			t.Fatalf("after switch %d: %v, want the old hoist running under the name, the new one failed", i+1, names)
		}
		if i == 0 {
			t.Logf("verdict: %s", Verdict(err))
		}
	}
	standInSwitcher(t, e, old.Image, false)
	res, phases := selfResume(e, old.ID, v2)
	if res.Outcome != updater.RolledBack || res.NotTheImage || !strings.Contains(res.Logs, "crash") {
		t.Fatalf("resume: %s (%s), logs %q; want rolled back with the failed hoist's logs", res.Outcome, res.Reason, res.Logs)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != old.ID {
		t.Fatalf("after resume: %v, want only the old hoist", names)
	}
	if len(phases) == 0 || phases[len(phases)-1] != updater.PhaseRollingBack {
		t.Fatalf("phases %v, want rolling_back", phases)
	}
}

// The old hoist runs again and its switcher ended without stopping it: the switch is
// called off, and the image is not blamed.
func TestSelfSwitchCalledOff(t *testing.T) {
	e := newEnv(t)
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old, s := selfSetup(t, e, v2)
	standInSwitcher(t, e, old.Image, false)
	res, _ := selfResume(e, old.ID, v2)
	if res.Outcome != updater.RolledBack || !res.NotTheImage {
		t.Fatalf("resume: %s (%s), want rolled back, not the image's fault", res.Outcome, res.Reason)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != old.ID || !running(e.inspect(old.ID)) {
		t.Fatalf("after resume: %v, want only the old hoist, running (new was %.12s)", names, s.newID)
	}
}

// Update of hoist's own container creates a switcher container from the running image
// and starts it. Here the binary named for it is not in that image: the switcher cannot
// start, and the swap is called off without blaming the new image.
func TestSelfUpdateSwitcherFails(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	b := New(e.c, WithLogger(e.log), WithSelf(old.ID, "/no-hoist-here"))
	res := b.Update(e.ctx, []updater.Workload{workload(old)}, v2, plan(), func(updater.Phase, ...string) {}, e.log)
	if res.Outcome != updater.RolledBack || !res.NotTheImage || !strings.Contains(res.Reason, "preparing the switch") {
		t.Fatalf("update: %s (%s), want the switch called off", res.Outcome, res.Reason)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != old.ID || !running(e.inspect(old.ID)) {
		t.Fatalf("after update: %v, want only the old container, running", names)
	}
	t.Logf("%s", res.Reason)
}

// A manual rollback of the container hoist runs in is refused before anything stops.
func TestSelfRollbackRefused(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	c := e.run("", v1.Tag.String(), nil, nil, nil)
	b := New(e.c, WithLogger(e.log), WithSelf(c.ID, ""))
	err := b.Rollback(e.ctx, workload(c))
	if !errors.Is(err, ErrSelfRollback) {
		t.Fatalf("rollback of hoist's own container: %v, want refused", err)
	}
	if !running(e.inspect(c.ID)) {
		t.Fatal("the container was stopped")
	}
}

// What the dashboard and hoist check say of the names a switch of hoist's own
// container gives: nothing while the switch explains them.
func TestSelfPassedOver(t *testing.T) {
	const base, oldID, newID = "hoist", "old", "new"
	sw := map[string]string{LabelSwapName: base, LabelSwitchOld: oldID, LabelSwitchNew: newID}
	failed := map[string]string{LabelSwapName: base, LabelSwapOf: oldID}
	for _, c := range []struct {
		about, name, holder string
		state               container.ContainerState
		labels              map[string]string
		flagged             bool
	}{
		{"switcher while the new hoist holds the name", base + suffixSwitch, newID, container.StateExited, sw, false},
		{"switcher while the old hoist holds the name", base + suffixSwitch, oldID, container.StateRunning, sw, false},
		{"switcher of another switch", base + suffixSwitch, "other", container.StateExited, sw, true},
		{"switcher without labels", base + suffixSwitch, newID, container.StateExited, nil, true},
		{"failed hoist, the old one back", base + suffixFailed, oldID, container.StateExited, failed, false},
		{"failed hoist that runs", base + suffixFailed, oldID, container.StateRunning, failed, true},
		{"failed hoist, another container holds the name", base + suffixFailed, "other", container.StateExited, failed, true},
	} {
		byName := map[string]container.Summary{base: {ID: c.holder}}
		why, ok := selfPassedOver(container.Summary{Labels: c.labels, State: c.state}, c.name, byName)
		if !ok || (why != "") != c.flagged {
			t.Errorf("%s: %q (%v), want flagged %v", c.about, why, ok, c.flagged)
		}
	}
	if _, ok := selfPassedOver(container.Summary{}, base+suffixPrev, nil); ok {
		t.Error("a swap's name taken for a switch's")
	}
}

// The switcher runs but never stops hoist (here the test app, which ignores the
// command line and serves): past the bound, hoist stops and removes it and calls the
// switch off.
func TestSelfUpdateSwitcherHangs(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	b := New(e.c, WithLogger(e.log), WithGracePeriod(10*time.Second), WithSelf(old.ID, "/app"))
	p := plan()
	p.Timeout = 10 * time.Second
	res := b.Update(e.ctx, []updater.Workload{workload(old)}, v2, p, func(updater.Phase, ...string) {}, e.log)
	if res.Outcome != updater.RolledBack || !res.NotTheImage || !strings.Contains(res.Reason, "did not stop this hoist within") {
		t.Fatalf("update: %s (%s), want the switch called off", res.Outcome, res.Reason)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != old.ID || !running(e.inspect(old.ID)) {
		t.Fatalf("after update: %v, want only the old container, running", names)
	}
	t.Logf("%s", res.Reason)
}
