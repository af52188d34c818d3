package swarm

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// newStreamEnv is newEnv with the backend's client going through a testenv.CutStream, and the
// backend following the events until the test ends.
func newStreamEnv(t *testing.T) (*env, *testenv.CutStream) {
	t.Helper()
	e := newEnv(t)
	cs := &testenv.CutStream{}
	c := testenv.DockerThrough(t, func(base http.RoundTripper) http.RoundTripper { cs.Base = base; return cs })
	e.b = New(c)
	e.b.ev.retry = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.b.Follow(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, cs
}

// indexed waits until the live index holds the service id and ok says it is as wanted.
func (e *env) indexed(id string, what string, ok func(w updater.Workload, found bool) bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s, live := e.b.Current(); live {
			var w updater.Workload
			found := false
			for _, x := range s.Workloads {
				if x.ID == id {
					w, found = x, true
				}
			}
			if ok(w, found) {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the index never showed %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIndexFollowsEvents: the index built from the event stream shows a service created,
// its labels changed and its removal, without listing again; a service that did not
// change keeps its revision, so its match is reused.
func TestIndexFollowsEvents(t *testing.T) {
	e, cs := newStreamEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	other := e.service(v1.Image(), 0)
	w := e.service(v1.Image(), 0)
	e.indexed(w.ID, "the new service", func(x updater.Workload, found bool) bool { return found && x.Image == v1.Image() })
	rev := func(id string) uint64 {
		s, _ := e.b.Current()
		for i, x := range s.Workloads {
			if x.ID == id {
				return s.Revs[i]
			}
		}
		return 0
	}
	otherRev := rev(other.ID)

	ctx := context.Background()
	svc, err := e.b.inspect(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec := svc.Spec
	spec.Labels = map[string]string{"hoist.test": "swarm", "hoist.policy": "indexed"}
	if _, err := e.c.ServiceUpdate(ctx, w.ID, client.ServiceUpdateOptions{Version: svc.Version, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	e.indexed(w.ID, "the new label", func(x updater.Workload, found bool) bool { return found && x.Labels["hoist.policy"] == "indexed" })
	if got := rev(other.ID); got != otherRev {
		t.Errorf("an unchanged service's revision moved: %d → %d", otherRev, got)
	}
	if _, err := e.c.ServiceRemove(ctx, w.ID, client.ServiceRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	e.indexed(w.ID, "the removal", func(_ updater.Workload, found bool) bool { return !found })
	if opened := cs.Opened(); opened != 1 {
		t.Errorf("%d event streams opened, want 1 (no gap)", opened)
	}
}

// TestEventStreamDroppedMidRollout: the event stream breaks while a service rolls out
// onto an image that crashes after Swarm's monitor window, and stays down. The index is
// no longer live (the updater lists instead), and the rollout ends right all the same,
// from the polling watch: rolled back, the service on its old image. Once the stream is
// back, a change made during the gap is in the index (reconnected and listed again).
func TestEventStreamDroppedMidRollout(t *testing.T) {
	e, cs := newStreamEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 5 * time.Second})
	w := e.service(v1.Image(), 1)
	e.indexed(w.ID, "the service", func(x updater.Workload, found bool) bool { return found })

	p := fastPlan()
	p.Watch = 10 * time.Second
	done := make(chan updater.Result, 1)
	go func() { done <- e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log) }()
	e.indexed(w.ID, "the update", func(x updater.Workload, found bool) bool { return found && x.Image == v2.Image() })
	cs.Cut()
	if _, live := e.b.Current(); live {
		deadline := time.Now().Add(5 * time.Second)
		for live && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			_, live = e.b.Current()
		}
		if live {
			t.Fatal("the index is still live with its stream cut")
		}
	}
	res := <-done
	if res.Outcome != updater.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	e.assertOn(w, v1.Image(), 1)

	// A change the stream never told: the service is scaled to 0 while it is down.
	ctx := context.Background()
	svc, err := e.b.inspect(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec := svc.Spec
	spec.Labels = map[string]string{"hoist.test": "swarm", "during": "gap"}
	zero := uint64(0)
	spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}}
	if _, err := e.c.ServiceUpdate(ctx, w.ID, client.ServiceUpdateOptions{Version: svc.Version, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	cs.Mend()
	e.indexed(w.ID, "the change made during the gap", func(x updater.Workload, found bool) bool {
		return found && x.Labels["during"] == "gap" && x.Image == v1.Image()
	})
}
