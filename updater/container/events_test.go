package container

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// follow runs the backend's event stream until the test ends.
func (e *env) follow() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.b.Follow(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// cuttable gives the test a backend whose engine client goes through a
// testenv.CutStream, following the event stream until the test ends.
func (e *env) cuttable() *testenv.CutStream {
	cs := &testenv.CutStream{}
	e.b = e.backend(testenv.DockerThrough(e.t, func(base http.RoundTripper) http.RoundTripper { cs.Base = base; return cs }))
	e.b.ev.retry = 100 * time.Millisecond
	e.follow()
	return cs
}

// indexed waits until the live listing shows the container called name as ok wants.
func (e *env) indexed(name, what string, ok func(w updater.Workload, found bool) bool) {
	e.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		if s, live := e.b.Current(); live {
			var w updater.Workload
			found := false
			for _, x := range s.Workloads {
				if x.Name == name {
					w, found = x, true
				}
			}
			if ok(w, found) {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the listing from the event stream never showed %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestContainerIndexFollowsEvents: with the event stream followed, the listing shows a
// container once it runs, a swap onto an image that crashes late is rolled back (the
// watch woken by the container's events), the listing then shows the container on its
// old image, and its removal.
func TestContainerIndexFollowsEvents(t *testing.T) {
	e := newEnv(t)
	e.follow()
	v1 := e.push("v1", testenv.App{Version: "v1"})
	bad := e.push("v2", testenv.App{Version: "v2-late", Mode: testenv.LateCrash, CrashAfter: 2 * time.Second})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	e.indexed(e.prefix, "the new container", func(w updater.Workload, found bool) bool { return found && w.ID == old.ID })

	r := e.b.Update(e.ctx, []updater.Workload{workload(old)}, bad, plan(), nil, e.log)
	must(t, r, updater.RolledBack)
	e.indexed(e.prefix, "the container back on its image", func(w updater.Workload, found bool) bool {
		return found && w.ID == old.ID && w.Image == v1.Tag.String()
	})
	if _, err := e.c.ContainerRemove(e.ctx, old.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.indexed(e.prefix, "the removal", func(_ updater.Workload, found bool) bool { return !found })
}

// TestContainerEventStreamDroppedMidRollout: the event stream breaks while a container is
// swapped onto an image that crashes after the health gate, and stays down. The listing
// is no longer live (the updater lists instead), and the rollout ends right all the
// same, from the polling watch: rolled back, the old container running its image. Once
// the stream is back, a container created during the gap is in the listing.
func TestContainerEventStreamDroppedMidRollout(t *testing.T) {
	e := newEnv(t)
	cs := e.cuttable()
	v1 := e.push("v1", testenv.App{Version: "v1"})
	bad := e.push("v2", testenv.App{Version: "v2-late", Mode: testenv.LateCrash, CrashAfter: 12 * time.Second})
	old := e.run("", v1.Tag.String(), nil, nil, nil)
	e.indexed(e.prefix, "the new container", func(w updater.Workload, found bool) bool { return found && w.ID == old.ID })

	p := plan()
	p.Watch = 30 * time.Second
	done := make(chan updater.Result, 1)
	go func() { done <- e.b.Update(e.ctx, []updater.Workload{workload(old)}, bad, p, nil, e.log) }()
	// Cut once the replacement runs under the name (as the engine says), before its
	// crash 12 s after its start.
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := e.c.ContainerInspect(e.ctx, e.prefix, client.ContainerInspectOptions{}); err == nil && c.Container.ID != old.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replacement never ran under the container's name")
		}
	}
	cs.Cut()
	deadline := time.Now().Add(5 * time.Second)
	for _, live := e.b.Current(); live; _, live = e.b.Current() {
		if time.Now().After(deadline) {
			t.Fatal("the listing is still live with its stream cut")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := <-done
	must(t, r, updater.RolledBack)
	if _, live := e.b.Current(); live {
		t.Fatal("the listing went live with its stream held down")
	}
	ws, err := e.b.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	back := false
	for _, w := range ws {
		back = back || w.Name == e.prefix && w.ID == old.ID && w.Image == v1.Tag.String()
	}
	if !back {
		t.Fatalf("after the rollback %s is not the old container on %s: %+v", e.prefix, v1.Tag, ws)
	}

	gap := e.run("-gap", v1.Tag.String(), nil, nil, nil)
	opened := cs.Opened()
	cs.Mend()
	e.indexed(e.prefix+"-gap", "the container created during the gap", func(w updater.Workload, found bool) bool { return found && w.ID == gap.ID })
	e.indexed(e.prefix, "the old container", func(w updater.Workload, found bool) bool { return found && w.ID == old.ID })
	if cs.Opened() <= opened {
		t.Errorf("the stream was not opened again (%d times in all)", cs.Opened())
	}
}

// TestContainerListingReadsWhatChanged: a listing reads a container once: events about
// another container, or that one stopping, do not make hoist inspect an unchanged
// container again, and what was read of a container is dropped with it.
func TestContainerListingReadsWhatChanged(t *testing.T) {
	e := newEnv(t)
	cs := e.cuttable()
	v1 := e.push("v1", testenv.App{Version: "v1"})
	a := e.run("-a", v1.Tag.String(), nil, nil, nil)
	e.indexed(e.prefix+"-a", "container a", func(w updater.Workload, found bool) bool { return found && w.ID == a.ID })
	inspects := func(id string) int { return cs.Requests("/containers/" + id + "/json") }
	before := inspects(a.ID)
	b := e.run("-b", v1.Tag.String(), nil, nil, nil)
	e.indexed(e.prefix+"-b", "container b", func(w updater.Workload, found bool) bool { return found && w.ID == b.ID })
	if _, err := e.c.ContainerStop(e.ctx, b.ID, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	e.indexed(e.prefix+"-b", "container b, stopped", func(w updater.Workload, found bool) bool { return found && w.ID == b.ID })
	if _, err := e.b.List(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := inspects(a.ID); n != before {
		t.Errorf("container a, unchanged, was inspected %d more times after events about b", n-before)
	}
	if _, err := e.c.ContainerRemove(e.ctx, a.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.indexed(e.prefix+"-a", "the removal of a", func(_ updater.Workload, found bool) bool { return !found })
	e.b.reads.mu.Lock()
	_, kept := e.b.reads.m[a.ID]
	e.b.reads.mu.Unlock()
	if kept {
		t.Error("what was read of container a is kept after its removal")
	}
}
