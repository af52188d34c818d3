package container

import (
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// With image pruning, the old version's image goes once the last container using it is
// gone — never while a container (another one, or the kept previous) still uses it.
func TestImagePruning(t *testing.T) {
	e := newEnv(t)
	e.b = New(e.c, WithLogger(e.log), WithImagePruning(true))
	// Versions of their own: an image other tests also pushed has more tags, and Docker
	// keeps an image with several tags (as it should).
	v1 := e.push("v1", testenv.App{Version: e.prefix + "-v1"})
	v2 := e.push("v2", testenv.App{Version: e.prefix + "-v2"})
	a := e.run("-a", v1.Tag.String(), nil, &container.HostConfig{}, nil)
	b := e.run("-b", v1.Tag.String(), nil, &container.HostConfig{}, nil)
	img := a.Image
	exists := func() bool {
		t.Helper()
		_, err := e.c.ImageInspect(e.ctx, img)
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	p := plan()
	p.KeepPrevious = 0
	must(t, e.b.Update(e.ctx, []updater.Workload{workload(a)}, v2, p, nil, e.log), updater.Succeeded)
	if !exists() {
		t.Fatal("v1's image removed while container -b still runs it")
	}

	p.KeepPrevious = time.Hour
	must(t, e.b.Update(e.ctx, []updater.Workload{workload(b)}, v2, p, nil, e.log), updater.Succeeded)
	if !exists() {
		t.Fatal("v1's image removed while -b's previous container is kept for a rollback")
	}
	ws, err := e.b.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Name == e.prefix+"-b" {
			if err := e.b.Finish(e.ctx, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	if exists() {
		t.Fatal("v1's image still there after its last container was finished")
	}
	// The running version is untouched.
	r, err := e.c.ContainerList(e.ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("name", e.prefix)})
	if err != nil || len(r.Items) != 2 {
		t.Fatalf("running containers: %d %v, want -a and -b", len(r.Items), err)
	}
	if _, err := e.c.ImageInspect(e.ctx, r.Items[0].ImageID); err != nil {
		t.Fatalf("v2's image: %v", err)
	}
}
