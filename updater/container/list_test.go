package container

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
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

// slowInspect holds every inspect of one container until the request is given up, as
// dockerd does while it holds the container's lock (a stop or kill in progress).
type slowInspect struct {
	base http.RoundTripper
	id   string
	held atomic.Int32
}

func (s *slowInspect) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/containers/"+s.id+"/json") {
		s.held.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return s.base.RoundTrip(r)
}

// A container the engine will not inspect does not hold up the listing: it is listed
// from the engine's summary, beside the others, within the bound.
func TestListBusyContainer(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	busy := e.run("busy", v1.Image(), &container.Config{Labels: map[string]string{"team": "a"}}, nil, nil)
	fine := e.run("fine", v1.Image(), nil, nil, nil)

	tr := &slowInspect{id: busy.ID}
	c := testenv.DockerThrough(t, func(base http.RoundTripper) http.RoundTripper { tr.base = base; return tr })
	defer func(d time.Duration) { inspectBound = d }(inspectBound)
	inspectBound = time.Second

	ws, err := New(c).List(e.ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if tr.held.Load() == 0 {
		t.Fatal("the busy container was never inspected")
	}
	got := map[string]updater.Workload{}
	for _, w := range ws {
		got[w.ID] = w
	}
	if w, ok := got[busy.ID]; !ok || w.Image != v1.Image() || w.Labels["team"] != "a" {
		t.Errorf("busy container listed as %+v (found %v), want its image and labels from the summary", w, ok)
	}
	if w, ok := got[fine.ID]; !ok || w.Image != v1.Image() {
		t.Errorf("the other container listed as %+v (found %v)", w, ok)
	}
}
