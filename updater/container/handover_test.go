package container

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// hoist stopped in the middle of the watch: the swap is handed over as it is (the
// replacement holds the name, the old container waits as <name>-hoist-old), neither
// finished nor reverted, and the next hoist's Resume judges it on its merits.
func TestUpdateHandsOverOnStop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		app  testenv.App
		want updater.Outcome // of the resumed rollout
	}{
		{"good image", testenv.App{Version: "v2"}, updater.Succeeded},
		{"late crash", testenv.App{Version: "v2", Mode: testenv.LateCrash, CrashAfter: 15 * time.Second, NoHealthcheck: true}, updater.RolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v1 := e.push("v1", testenv.App{Version: "v1"})
			v2 := e.push("v2", tc.app)
			old := e.run("", v1.Tag.String(), nil, nil, nil)
			p := plan()
			p.Watch = 30 * time.Second // the late crash (15 s after start) falls in the resumed watch, however slow the start

			ctx, cancel := context.WithCancel(e.ctx)
			defer cancel()
			var phases []updater.Phase
			var stoppedAt time.Time
			j := func(ph updater.Phase, _ ...string) {
				phases = append(phases, ph)
				if ph == updater.PhaseWatching {
					time.AfterFunc(time.Second, func() { stoppedAt = time.Now(); cancel() })
				}
			}
			res := e.b.Update(ctx, []updater.Workload{workload(old)}, v2, p, j, e.log)
			t.Logf("returned %s after the stop; phases %v", time.Since(stoppedAt).Round(time.Millisecond), phases)
			must(t, res, updater.HandedOver)
			if slices.Contains(phases, updater.PhaseRollingBack) {
				t.Errorf("phases %v: a stop is no failure", phases)
			}
			names := e.names()
			holder := names[e.prefix]
			if holder == "" || holder == old.ID || names[e.prefix+suffixOld] != old.ID || len(names) != 2 {
				t.Fatalf("handed over: %v, want the replacement under the name and %.12s as %s", names, old.ID, e.prefix+suffixOld)
			}
			if !running(e.inspect(holder)) {
				t.Fatal("the replacement is not running")
			}

			// The next hoist.
			rec := updater.Rollout{Workload: "container/" + e.prefix, From: v1.Tag.String(), To: v2.Image(), Phase: updater.PhaseWatching, Plan: &p}
			start := time.Now()
			res = e.b.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix}, rec, v2, p, nil, e.log)
			t.Logf("resume took %s", time.Since(start).Round(time.Millisecond))
			must(t, res, tc.want)
			names = e.names()
			switch tc.want {
			case updater.Succeeded:
				if names[e.prefix] != holder || names[e.prefix+suffixPrev] != old.ID {
					t.Fatalf("after resume: %v", names)
				}
			default:
				if names[e.prefix] != old.ID || len(names) != 1 || !running(e.inspect(old.ID)) {
					t.Fatalf("after resume: %v, want only the old container %.12s, running", names, old.ID)
				}
			}
		})
	}
}

// A failure seen before hoist stops is still reverted, stop or not.
func TestUpdateRevertsFailureSeenBeforeStop(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2", Mode: testenv.LateCrash, CrashAfter: 2 * time.Second, NoHealthcheck: true})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	p := plan()
	p.Watch = 20 * time.Second

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	j := func(ph updater.Phase, _ ...string) {
		if ph == updater.PhaseRollingBack {
			cancel() // hoist stops while it reverts
		}
	}
	res := e.b.Update(ctx, []updater.Workload{workload(old)}, v2, p, j, e.log)
	must(t, res, updater.RolledBack)
	names := e.names()
	if names[e.prefix] != old.ID || len(names) != 1 {
		t.Fatalf("after the rollout: %v, want only the old container", names)
	}
}
