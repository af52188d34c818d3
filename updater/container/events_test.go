package container

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// indexed waits until the live listing shows the container called name as ok wants.
func (e *env) indexed(name, what string, ok func(w updater.Workload, found bool) bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.b.Follow(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
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
