package container

import (
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// hoist died while watching a replacement that exits 6 s after start (no HEALTHCHECK,
// no restart policy): the replacement holds the name, the old container waits as
// <name>-hoist-old. A hoist without its store finds it from the labels; Resume judges
// it again and brings the very same old container back.
func TestResumeCutWatch(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2", Mode: testenv.LateCrash, CrashAfter: 6 * time.Second, NoHealthcheck: true})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	if err := e.b.pull(e.ctx, v2.Image(), ""); err != nil {
		t.Fatal(err)
	}
	p := plan()
	p.Watch = 15 * time.Second
	s := e.b.newSwap(old, v2.Image(), p, e.log)
	if err := s.replace(e.ctx, e.ctx); err != nil {
		t.Fatal(err)
	}
	// Here the hoist that made the swap was killed.
	found := e.b.Unfinished(e.ctx, nil, func(string) bool { return false },
		func(updater.Workload) (updater.Plan, bool) { return updater.Plan{}, false })
	if len(found) != 1 || found[0].Workload != "container/"+e.prefix || found[0].Phase != updater.PhaseWatching ||
		found[0].To != v2.Image() || found[0].Plan.Watch != p.Watch {
		t.Fatalf("the cut watch from the labels: %+v", found)
	}
	start := time.Now()
	var phases []updater.Phase
	res := e.b.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix}, found[0], v2, *found[0].Plan,
		func(ph updater.Phase, _ ...string) { phases = append(phases, ph) }, e.log)
	t.Logf("resume took %s: %+v; phases %v", time.Since(start).Round(time.Millisecond), res, phases)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "exited") || !strings.Contains(res.Logs, "crashing late") {
		t.Fatalf("outcome %s (%s), want rolled_back with the exit and its logs", res.Outcome, res.Reason)
	}
	names := e.names()
	if names[e.prefix] != old.ID || len(names) != 1 {
		t.Fatalf("after resume: %v, want only the old container %.12s under the name", names, old.ID)
	}
	if !running(e.inspect(old.ID)) {
		t.Fatal("the old container is not running")
	}
}

// The swap had finished its watch well: Resume finishes it (old kept as previous).
func TestResumeCutWatchHealthy(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	if err := e.b.pull(e.ctx, v2.Image(), ""); err != nil {
		t.Fatal(err)
	}
	s := e.b.newSwap(old, v2.Image(), plan(), e.log)
	if err := s.replace(e.ctx, e.ctx); err != nil {
		t.Fatal(err)
	}
	rec := updater.Rollout{Workload: "container/" + e.prefix, From: v1.Tag.String(), To: v2.Image(), Phase: updater.PhaseWatching}
	res := e.b.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix}, rec, v2, plan(), nil, e.log)
	if res.Outcome != updater.Succeeded {
		t.Fatalf("outcome %s (%s), want succeeded", res.Outcome, res.Reason)
	}
	names := e.names()
	if names[e.prefix] != s.newID || names[e.prefix+suffixPrev] != old.ID {
		t.Fatalf("after resume: %v", names)
	}
}
