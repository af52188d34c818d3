package container

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// canaryPlan is plan() with a canary of one container held for hold.
func canaryPlan(hold time.Duration) updater.Plan {
	p := plan()
	p.Canary = &policy.Canary{Tasks: 1, Hold: hold}
	return p
}

// A group of three, an image that crashes 4 s after start, a canary of one held 10 s:
// the first container is replaced, fails within the hold and gets its old container
// back; the two others are never touched.
func TestCanaryGroupCatchesLateCrash(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	bad := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 4 * time.Second})
	a := e.run("-a", v1.Image(), nil, nil, nil)
	b := e.run("-b", v1.Image(), nil, nil, nil)
	c := e.run("-c", v1.Image(), nil, nil, nil)

	var marks []string
	j := func(p updater.Phase, notes ...string) { marks = append(marks, string(p)+" "+strings.Join(notes, "; ")) }
	start := time.Now()
	res := e.b.Update(e.ctx, []updater.Workload{workload(a), workload(b), workload(c)}, bad, canaryPlan(10*time.Second), j, e.log)
	t.Logf("%s after %s: %s; phases %q", res.Outcome, time.Since(start).Round(time.Second), res.Reason, marks)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "canary 1/3") {
		t.Fatalf("outcome %s (%s), want rolled back by the canary", res.Outcome, res.Reason)
	}
	if len(marks) < 2 || !strings.HasPrefix(marks[0], "canary canary 1/3") || !strings.HasPrefix(marks[len(marks)-1], "rolling_back") {
		t.Errorf("phases %q, want canary then rolling back", marks)
	}
	for _, old := range []string{b.ID, c.ID} { // never touched: same container, same start
		now := e.inspect(old)
		if now.Config.Image != v1.Image() || now.State.StartedAt != e.inspect(old).State.StartedAt || now.RestartCount != 0 || !now.State.Running {
			t.Errorf("%s was touched: %s running=%v", now.Name, now.Config.Image, now.State.Running)
		}
	}
	if got := e.inspect(e.prefix + "-a"); got.Config.Image != v1.Image() || !got.State.Running {
		t.Errorf("the canary's container is not back on v1: %s running=%v", got.Config.Image, got.State.Running)
	}
}

// A good image: the canary holds, then the others follow; none starts before the hold
// ended.
func TestCanaryGroupPassesThenReplacesTheRest(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	a := e.run("-a", v1.Image(), nil, nil, nil)
	b := e.run("-b", v1.Image(), nil, nil, nil)
	c := e.run("-c", v1.Image(), nil, nil, nil)

	const hold = 6 * time.Second
	var marks []string
	j := func(p updater.Phase, notes ...string) { marks = append(marks, string(p)+" "+strings.Join(notes, "; ")) }
	res := e.b.Update(e.ctx, []updater.Workload{workload(a), workload(b), workload(c)}, v2, canaryPlan(hold), j, e.log)
	t.Logf("%s: %s; phases %q", res.Outcome, res.Reason, marks)
	must(t, res, updater.Succeeded)
	if !strings.Contains(strings.Join(marks, " | "), "converging canary 1/3 (") {
		t.Errorf("the canary's verdict is not noted with the converging phase: %q", marks)
	}
	first := e.inspect(e.prefix + "-a")
	for _, s := range []string{"-a", "-b", "-c"} {
		now := e.inspect(e.prefix + s)
		if now.Config.Image != v2.Image() {
			t.Errorf("%s runs %s, want v2", now.Name, now.Config.Image)
		}
		if s == "-a" {
			continue
		}
		c1, _ := time.Parse(time.RFC3339Nano, first.State.StartedAt)
		c2, _ := time.Parse(time.RFC3339Nano, now.State.StartedAt)
		if c2.Sub(c1) < hold {
			t.Errorf("%s started %s after the canary, before its hold of %s ended", now.Name, c2.Sub(c1), hold)
		}
	}
}

// The policy's metric gate crosses its threshold during the group's hold: the canary
// container gets its old one back, the reason names the query, the other is untouched.
func TestCanaryGroupMetricGate(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	a := e.run("-a", v1.Image(), nil, nil, nil)
	b := e.run("-b", v1.Image(), nil, nil, nil)

	var ratio atomic.Value
	ratio.Store("0")
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"%s"]}]}}`, time.Now().Unix(), ratio.Load())
	}))
	defer prom.Close()
	p := canaryPlan(20 * time.Second)
	p.Gate = &policy.Gate{URL: prom.URL, Query: "errors_ratio", Below: 0.05, Every: time.Second}
	j := func(ph updater.Phase, _ ...string) {
		if ph == updater.PhaseCanary {
			time.AfterFunc(5*time.Second, func() { ratio.Store("0.2") })
		}
	}
	start := time.Now()
	res := e.b.Update(e.ctx, []updater.Workload{workload(a), workload(b)}, v2, p, j, e.log)
	t.Logf("%s after %s: %s", res.Outcome, time.Since(start).Round(time.Second), res.Reason)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "canary 1/2") || !strings.Contains(res.Reason, "metric gate crossed: query `errors_ratio` = 0.2, not below 0.05") {
		t.Fatalf("outcome %s (%s), want rolled back by the gate", res.Outcome, res.Reason)
	}
	if now := e.inspect(b.ID); now.Config.Image != v1.Image() || !now.State.Running || now.State.StartedAt != b.State.StartedAt {
		t.Errorf("%s was touched", now.Name)
	}
	if got := e.inspect(e.prefix + "-a"); got.Config.Image != v1.Image() {
		t.Errorf("the canary's container is not back on v1: %s", got.Config.Image)
	}
}

// hoist stops 1 s into a group's hold on an image that crashes 8 s after start. The next
// hoist resumes each record: the canary container is judged again for the hold and
// rolled back; the other, never replaced, is not replaced on resume either.
func TestCanaryGroupResumedAfterStop(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	bad := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 8 * time.Second})
	a := e.run("-a", v1.Image(), nil, nil, nil)
	b := e.run("-b", v1.Image(), nil, nil, nil)
	p := canaryPlan(20 * time.Second)

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var rec updater.Rollout
	rec.Enter(updater.PhaseSubmitted, time.Now())
	j := func(ph updater.Phase, _ ...string) { rec.Enter(ph, time.Now()) }
	go func() { // stop once the canary container holds the name on the new image (its hold has begun)
		for ctx.Err() == nil {
			if c, err := e.c.ContainerInspect(ctx, e.prefix+"-a", client.ContainerInspectOptions{}); err == nil &&
				c.Container.Config.Image == bad.Image() && c.Container.State.Running {
				time.Sleep(time.Second)
				cancel()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	res := e.b.Update(ctx, []updater.Workload{workload(a), workload(b)}, bad, p, j, e.log)
	t.Logf("first hoist: %s (%s)", res.Outcome, res.Reason)
	if res.Outcome != updater.HandedOver || rec.Phase != updater.PhaseCanary {
		t.Fatalf("%s in phase %s, want handed over in the canary", res.Outcome, rec.Phase)
	}
	next := New(e.c, WithLogger(e.log), WithGracePeriod(30*time.Second),
		WithScope(func(name string, _ map[string]string) bool { return strings.HasPrefix(name, e.prefix) }))
	ra := next.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix + "-a"}, rec, bad, p, nil, e.log)
	rb := next.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix + "-b"}, rec, bad, p, nil, e.log)
	t.Logf("resumed: canary %s (%s); other %s (%s)", ra.Outcome, ra.Reason, rb.Outcome, rb.Reason)
	if ra.Outcome != updater.RolledBack || rb.Outcome != updater.Aborted {
		t.Errorf("canary %s, other %s; want rolled back and aborted", ra.Outcome, rb.Outcome)
	}
	if now := e.inspect(b.ID); now.Config.Image != v1.Image() || now.State.StartedAt != b.State.StartedAt || !now.State.Running {
		t.Errorf("%s was touched", now.Name)
	}
	if got := e.inspect(e.prefix + "-a"); got.Config.Image != v1.Image() || !got.State.Running {
		t.Errorf("the canary's container is not back on v1: %s", got.Config.Image)
	}
}
