package container

import (
	"net/http"
	"strings"
	"sync"
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
	mu   sync.Mutex
	seen map[string]int // inspections by container ID
}

func (s *slowInspect) inspects(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

func (s *slowInspect) RoundTrip(r *http.Request) (*http.Response, error) {
	if p := strings.TrimSuffix(r.URL.Path, "/json"); p != r.URL.Path && strings.Contains(p, "/containers/") {
		s.mu.Lock()
		if s.seen == nil {
			s.seen = map[string]int{}
		}
		s.seen[p[strings.LastIndex(p, "/")+1:]]++
		s.mu.Unlock()
	}
	if strings.HasSuffix(r.URL.Path, "/containers/"+s.id+"/json") {
		s.held.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return s.base.RoundTrip(r)
}

// A listing inspects only containers whose summary names their image by ID (the tag
// they were made from moved), and one the engine will not inspect does not hold up the
// listing: it is left out this time, the others listed within the bound.
func TestListBusyContainer(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	v2 := e.push("v2", testenv.App{Version: "v2"})
	busy := e.run("busy", v1.Tag.String(), &container.Config{Labels: map[string]string{"team": "a"}}, nil, nil)
	moved := e.run("moved", v1.Tag.String(), nil, nil, nil)
	named := e.run("named", v2.Tag.String(), &container.Config{Labels: map[string]string{"team": "b"}}, nil, nil)
	if err := e.b.pull(e.ctx, v2.Image(), ""); err != nil {
		t.Fatal(err)
	}
	// v1's tag now names v2's image: busy and moved are listed with their image's ID.
	if _, err := e.c.ImageTag(e.ctx, client.ImageTagOptions{Source: v2.Image(), Target: v1.Tag.String()}); err != nil {
		t.Fatal(err)
	}

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
	if w, ok := got[busy.ID]; ok {
		t.Errorf("busy container listed as %+v; its image's name is only in its inspection", w)
	}
	if w, ok := got[moved.ID]; !ok || w.Image != v1.Tag.String() {
		t.Errorf("the container whose tag moved listed as %+v (found %v), want %s from its inspection", w, ok, v1.Tag)
	}
	if w, ok := got[named.ID]; !ok || w.Image != v2.Tag.String() || w.Labels["team"] != "b" || w.Digest != v2.Digest.String() {
		t.Errorf("the container listed from its summary: %+v (found %v), want %s, its labels and digest", w, ok, v2.Tag)
	}
	if n := tr.inspects(named.ID); n != 0 {
		t.Errorf("the container whose summary names its image was inspected %d times", n)
	}
}
