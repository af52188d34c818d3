package container

import (
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
)

// Containers that come and go while hoist lists (CI jobs, cron containers) are not an
// error: the listing leaves out one removed before it could be inspected.
func TestListWhileContainersComeAndGo(t *testing.T) {
	e := newEnv(t)
	if _, err := e.b.inspect(e.ctx, e.prefix+"-never-created"); !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspecting a missing container: %v, want a not-found error", err)
	}
	v1 := e.push("v1", testenv.App{Version: "v1"})
	if err := e.b.pull(e.ctx, v1.Tag.String(), ""); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	churned := make(chan int)
	go func() {
		n := 0
		for !stop.Load() {
			r, err := e.c.ContainerCreate(e.ctx, client.ContainerCreateOptions{Name: e.prefix + "-churn", Config: &container.Config{Image: v1.Tag.String()}})
			if err == nil {
				e.c.ContainerRemove(e.ctx, r.ID, client.ContainerRemoveOptions{Force: true})
				n++
			}
		}
		churned <- n
	}()
	lists := 0
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); lists++ {
		if _, err := e.b.List(e.ctx); err != nil {
			stop.Store(true)
			<-churned
			t.Fatalf("List while containers churn: %v", err)
		}
	}
	stop.Store(true)
	t.Logf("%d listings while %d containers were created and removed", lists, <-churned)
}
