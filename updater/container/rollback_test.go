package container

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A failing image brings the old container back: same ID, its data, running; the failed
// replacement is gone and its logs are kept.
func TestUpdateRollsBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		app     testenv.App
		publish bool // stop-first when published, start-first otherwise
		logs    string
	}{
		{"crash", testenv.App{Mode: testenv.Crash}, true, "crashing at start"},
		{"unhealthy", testenv.App{Mode: testenv.Unhealthy}, false, "(unhealthy) listening"},
		{"latecrash", testenv.App{Mode: testenv.LateCrash, CrashAfter: 2 * time.Second}, true, "crashing late"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v1 := e.push("v1", testenv.App{Version: "v1"})
			tc.app.Version = "v2-" + tc.name
			bad := e.push("v2", tc.app)
			host := &container.HostConfig{}
			if tc.publish {
				host.PortBindings = loopbackPort("")
			}
			old := e.run("", v1.Tag.String(), nil, host, nil)
			e.writeFile(old.ID, "/data", "keep", "old-data")

			r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, bad, plan(), nil, e.log)
			must(t, r, updater.RolledBack)
			if !strings.Contains(r.Logs, tc.logs) {
				t.Errorf("logs %q lack %q", r.Logs, tc.logs)
			}
			names := e.names()
			if len(names) != 1 || names[e.prefix] != old.ID {
				t.Fatalf("containers after rollback: %v, want only %s = %.12s", names, e.prefix, old.ID)
			}
			back := e.inspect(old.ID)
			if !running(back) || back.Config.Image != v1.Tag.String() {
				t.Errorf("old container: running=%v image=%s", running(back), back.Config.Image)
			}
			if got := e.readFile(old.ID, "/data/keep"); got != "old-data" {
				t.Errorf("data %q", got)
			}
			if tc.publish {
				if got := httpAnswer(t, "GET", hostPort(t, back), "/version"); got != "v1" {
					t.Errorf("/version %q", got)
				}
			}
		})
	}
}

// A group stops at the first failed batch and restores it; the rest is not touched.
func TestUpdateBatchStopsAtFirstFailure(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	bad := e.push("v2", testenv.App{Version: "v2", Mode: testenv.Crash})
	var ws []updater.Workload
	var olds []container.InspectResponse
	for _, s := range []string{"-a", "-b", "-c"} {
		c := e.run(s, v1.Tag.String(), nil, nil, nil)
		olds = append(olds, c)
		ws = append(ws, workload(c))
	}
	p := plan()
	p.Delay = 500 * time.Millisecond
	r := e.b.Update(e.ctx, ws, bad, p, nil, e.log)
	must(t, r, updater.RolledBack)
	if !strings.Contains(r.Reason, e.prefix+"-a") || strings.Contains(r.Reason, e.prefix+"-b") {
		t.Errorf("reason %q should name only the first batch", r.Reason)
	}
	names := e.names()
	if len(names) != 3 {
		t.Errorf("containers: %v", names)
	}
	for _, o := range olds {
		c := e.inspect(o.ID)
		if !running(c) || c.Name != o.Name || c.Config.Image != v1.Tag.String() {
			t.Errorf("%s: running=%v name=%s image=%s", o.Name, running(c), c.Name, c.Config.Image)
		}
		if o.Name != "/"+e.prefix+"-a" && c.State.StartedAt != o.State.StartedAt {
			t.Errorf("%s was restarted", o.Name)
		}
	}
}

// A manual rollback brings back the very container replaced; Finish drops the kept one.
func TestManualRollbackAndFinish(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old := e.run("", v1.Tag.String(), nil, &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}}, nil)

	upgrade := func() updater.Workload {
		t.Helper()
		cur := e.inspect(e.prefix)
		must(t, e.b.Update(e.ctx, []updater.Workload{workload(cur)}, v2, plan(), nil, e.log), updater.Succeeded)
		ws, err := e.b.List(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if w.Name == e.prefix {
				if !w.HasPrevious {
					t.Fatalf("after an upgrade %s has no previous", w.Name)
				}
				return w
			}
		}
		t.Fatal("upgraded container not listed")
		return updater.Workload{}
	}

	w := upgrade()
	if err := e.b.Rollback(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	names := e.names()
	if len(names) != 1 || names[e.prefix] != old.ID {
		t.Fatalf("after rollback: %v, want only %s = %.12s", names, e.prefix, old.ID)
	}
	back := e.inspect(old.ID)
	if !running(back) || back.HostConfig.RestartPolicy.Name != container.RestartPolicyUnlessStopped {
		t.Errorf("rolled back container: running=%v restart=%s", running(back), back.HostConfig.RestartPolicy.Name)
	}

	w = upgrade()
	if err := e.b.Finish(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != w.ID {
		t.Fatalf("after finish: %v", names)
	}
	if err := e.b.Rollback(e.ctx, w); err == nil {
		t.Error("rollback without a kept previous succeeded")
	}
}

// Prune removes previous containers whose time is up, and only those.
func TestPrune(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	p := plan()
	p.Watch = time.Second
	must(t, e.b.Update(e.ctx, []updater.Workload{workload(old)}, v2, p, nil, e.log), updater.Succeeded)
	if err := e.b.Prune(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.names()[e.prefix+suffixPrev]; !ok {
		t.Fatal("prune removed a previous container that has not expired")
	}
	e.b.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := e.b.Prune(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ContainerInspect(e.ctx, old.ID, client.ContainerInspectOptions{}); err == nil {
		t.Error("expired previous container still there")
	}
}

// Shutting down mid-rollout (stop-first, host ports) leaves the swap in hand as it is,
// neither finished nor reverted: the replacement holds the name, the old container
// waits as <name>-hoist-old, and the next hoist's Resume finishes it.
func TestUpdateCancelledHandsOver(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old := e.run("", v1.Tag.String(), nil, &container.HostConfig{PortBindings: loopbackPort("")}, nil)
	ctx, cancel := context.WithCancel(e.ctx)
	time.AfterFunc(2500*time.Millisecond, cancel) // healthy by then, watching
	p := plan()
	p.Watch = 20 * time.Second
	r := e.b.Update(ctx, []updater.Workload{workload(old)}, v2, p, nil, e.log)
	must(t, r, updater.HandedOver)
	names := e.names()
	holder := names[e.prefix]
	if len(names) != 2 || holder == old.ID || names[e.prefix+suffixOld] != old.ID || !running(e.inspect(holder)) {
		t.Fatalf("after cancel: %v, want the replacement running under the name and %.12s as %s", names, old.ID, e.prefix+suffixOld)
	}
	p.Watch = 3 * time.Second
	rec := updater.Rollout{Workload: "container/" + e.prefix, From: v1.Tag.String(), To: v2.Image(), Phase: updater.PhaseWatching}
	must(t, e.b.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix}, rec, v2, p, nil, e.log), updater.Succeeded)
	if names := e.names(); names[e.prefix] != holder || names[e.prefix+suffixPrev] != old.ID {
		t.Errorf("after resume: %v", names)
	}
}

// The last batch is monitored like the others: a replacement without a healthcheck that
// crashes soon after it started is caught even when no watch follows the rollout.
func TestUpdateMonitorsLastBatch(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	bad := e.push("v2", testenv.App{Version: "v2", Mode: testenv.LateCrash, CrashAfter: 1500 * time.Millisecond, NoHealthcheck: true})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	p := plan()
	p.Watch = 0
	p.Monitor = 5 * time.Second
	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, bad, p, nil, e.log)
	must(t, r, updater.RolledBack)
	if !strings.Contains(r.Logs, "crashing late") {
		t.Errorf("logs %q lack the crash", r.Logs)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != old.ID || !running(e.inspect(old.ID)) {
		t.Errorf("after rollback: %v, want only %s = %.12s running", names, e.prefix, old.ID)
	}
}

// A container started with --rm is deleted by the engine once stopped: replacing it
// would leave nothing to roll back to, so hoist refuses and leaves it running.
func TestUpdateRefusesAutoRemove(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	bad := e.push("v2", testenv.App{Version: "v2", Mode: testenv.LateCrash, CrashAfter: 2 * time.Second})
	old := e.run("", v1.Tag.String(), nil, &container.HostConfig{AutoRemove: true}, nil)
	p := plan()
	p.Watch = 4 * time.Second
	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, bad, p, nil, e.log)
	must(t, r, updater.RefusedOutcome)
	if !strings.Contains(r.Reason, "--rm") {
		t.Errorf("reason %q does not say why", r.Reason)
	}
	names := e.names()
	if len(names) != 1 || names[e.prefix] != old.ID {
		t.Fatalf("containers: %v, want only %s = %.12s", names, e.prefix, old.ID)
	}
	if c := e.inspect(old.ID); !running(c) || c.State.StartedAt != old.State.StartedAt {
		t.Errorf("old container: running=%v started %s, want untouched", running(c), c.State.StartedAt)
	}
}

// A container with no HEALTHCHECK whose HTTP endpoint starts failing after the gate
// passed is caught by the policy's HTTP probe during the watch and rolled back.
func TestUpdateHTTPProbeDuringWatch(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1", NoHealthcheck: true})
	bad := e.push("v2", testenv.App{Version: "v2", Mode: testenv.LateUnhealthy, CrashAfter: 2 * time.Second, NoHealthcheck: true})
	old := e.run("", v1.Tag.String(), nil, &container.HostConfig{}, nil)

	p := plan()
	p.HTTPProbe = &updater.HTTPProbe{Port: 8080, Path: "/healthz"}
	p.Watch = 8 * time.Second
	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, bad, p, nil, e.log)
	must(t, r, updater.RolledBack)
	if !strings.Contains(r.Reason, "status 500 (3 times in a row)") {
		t.Errorf("reason %q, want the probe's 500s", r.Reason)
	}
	if names := e.names(); len(names) != 1 || names[e.prefix] != old.ID || !running(e.inspect(old.ID)) {
		t.Fatalf("containers after rollback: %v, want the old %.12s running", names, old.ID)
	}
}

// A probe that fails against the running container too (a wrong path, a port hoist
// cannot reach) cannot judge the new one: it is not used, and a good image is not rolled
// back.
func TestUpdateHTTPProbeFailingBaseline(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1", NoHealthcheck: true})
	v2 := e.push("v2", testenv.App{Version: "v2", NoHealthcheck: true})
	old := e.run("", v1.Tag.String(), nil, &container.HostConfig{}, nil)

	p := plan()
	p.HTTPProbe = &updater.HTTPProbe{Port: 8080, Path: "/no-such-path"}
	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, v2, p, nil, e.log)
	must(t, r, updater.Succeeded)
	if !strings.Contains(r.Reason, "HTTP probe not used: it fails against the running version too") || !strings.Contains(r.Reason, "status 404") {
		t.Errorf("reason %q, want the probe reported as not used", r.Reason)
	}
}
