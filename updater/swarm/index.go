package swarm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
)

// index holds the services as the event stream last showed them. A service keeps its
// revision while Swarm's version of it is unchanged, so the updater matches it again
// only when it changed.
type index struct {
	mu   sync.Mutex
	byID map[string]indexed
	rev  uint64 // the last revision handed out
	gen  uint64 // bumped at every change
	snap *updater.Snapshot
}

type indexed struct {
	w       updater.Workload
	version uint64 // Swarm's version of the service
	rev     uint64
}

// put adds or replaces one service; the lock must not be held.
func (x *index) put(s swarm.Service) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.putLocked(s)
}

func (x *index) putLocked(s swarm.Service) bool {
	if s.Spec.TaskTemplate.ContainerSpec == nil || isCanary(s.Spec) {
		return false // plugin or network-attachment services have no image to follow; a canary is its service's (canary.go)
	}
	if x.byID == nil {
		x.byID = map[string]indexed{}
	}
	if old, ok := x.byID[s.ID]; ok && old.version >= s.Version.Index {
		return false // the same, or older than what the index holds (a slower read)
	}
	x.rev++
	x.byID[s.ID] = indexed{w: workload(s), version: s.Version.Index, rev: x.rev}
	x.gen++
	x.snap = nil
	return true
}

// removeName drops the service called name.
func (x *index) removeName(name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for id, e := range x.byID {
		if e.w.Name == name {
			delete(x.byID, id)
			x.gen++
			x.snap = nil
		}
	}
}

// remove drops the service id.
func (x *index) remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.byID[id]; ok {
		delete(x.byID, id)
		x.gen++
		x.snap = nil
	}
}

// replace makes the index what a full listing found: services it lacks are dropped,
// services whose version is unchanged keep their revision.
func (x *index) replace(all []swarm.Service) {
	x.mu.Lock()
	defer x.mu.Unlock()
	seen := make(map[string]bool, len(all))
	for _, s := range all {
		seen[s.ID] = true
		x.putLocked(s)
	}
	for id := range x.byID {
		if !seen[id] {
			delete(x.byID, id)
			x.gen++
			x.snap = nil
		}
	}
}

// snapshot returns the index as it stands, built once per change.
func (x *index) snapshot() updater.Snapshot {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.snap == nil {
		all := make([]indexed, 0, len(x.byID))
		for _, e := range x.byID {
			all = append(all, e)
		}
		slices.SortFunc(all, func(a, b indexed) int { return strings.Compare(a.w.Name, b.w.Name) })
		s := &updater.Snapshot{Workloads: make([]updater.Workload, len(all)), Revs: make([]uint64, len(all)), Gen: x.gen}
		for i, e := range all {
			s.Workloads[i], s.Revs[i] = e.w, e.rev
		}
		x.snap = s
	}
	return *x.snap
}

// Streaming reports whether the engine's event stream is connected.
func (b *Backend) Streaming() bool { return b.ev.connected.Load() }

// Current is the index of the services while the event stream is live.
func (b *Backend) Current() (updater.Snapshot, bool) {
	if !b.ev.live.Load() {
		return updater.Snapshot{}, false
	}
	return b.ev.idx.snapshot(), true
}

// Refresh reads the services named from the engine into the index: hoist changed them
// itself, and the stream may not have told it yet.
func (b *Backend) Refresh(ctx context.Context, names []string) error {
	for _, n := range names {
		ictx, cancel := context.WithTimeout(ctx, b.call)
		res, err := b.c.ServiceInspect(ictx, n, client.ServiceInspectOptions{})
		cancel()
		switch {
		case cerrdefs.IsNotFound(err):
			b.ev.idx.removeName(n)
		case err != nil:
			return fmt.Errorf("refresh service %s: %w", n, err)
		default:
			b.ev.idx.put(res.Service)
		}
	}
	return nil
}

var _ updater.Index = (*Backend)(nil)
