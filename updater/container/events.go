package container

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/wake"
)

// stream follows the engine's container events for the backend: it keeps a listing of
// the containers (List's) that is made again only after a container was created,
// removed, renamed, started or stopped, and wakes the health gate and the watch of a
// container when something happens to it (it died, its health changed). Its zero value
// is ready; Follow runs it.
type stream struct {
	running   atomic.Bool
	connected atomic.Bool // the engine answered the stream, and it has not broken since
	live      atomic.Bool // connected, and the listing reflects every event applied
	// retry is how long Follow waits before it connects again after a gap.
	retry time.Duration

	// relisting makes one listing at a time, so a listing never lands before one begun
	// earlier.
	relisting sync.Mutex

	mu     sync.Mutex
	snap   updater.Snapshot
	revs   map[string]revised // container ID → its workload as last listed
	rev    uint64
	wakers wake.Set // by container ID: closed at its next event
}

type revised struct {
	w   updater.Workload
	rev uint64
}

// relistOn are the container events after which List may answer otherwise.
var relistOn = map[events.Action]bool{
	events.ActionCreate: true, events.ActionDestroy: true, events.ActionRename: true, events.ActionStart: true,
	events.ActionDie: true, events.ActionUpdate: true, events.ActionRestart: true, events.ActionPause: true, events.ActionUnPause: true,
}

// streamed are the container events the stream asks for: those after which List may
// answer otherwise, and those a watch wakes up for. Not the exec events of every health
// check (three per check and container, which the engine would send for nothing).
var streamed = []string{"create", "destroy", "rename", "start", "die", "update", "restart", "pause", "unpause",
	"health_status", "oom", "kill", "stop"}

// Follow keeps the listing of the containers current from the engine's events until
// ctx ends: it subscribes, lists, and lists again after each burst of events that may
// change what List says. When the stream breaks it connects again from the time of the
// last event (and lists again); meanwhile the updater lists through List.
func (b *Backend) Follow(ctx context.Context) {
	if !b.ev.running.CompareAndSwap(false, true) {
		return
	}
	defer b.ev.running.Store(false)
	retry := b.ev.retry
	if retry == 0 {
		retry = time.Second
	}
	var since time.Time
	for ctx.Err() == nil {
		err := b.followOnce(ctx, &since)
		b.ev.connected.Store(false)
		b.ev.live.Store(false)
		b.ev.wakeAll()
		if ctx.Err() == nil {
			b.log.Debug().Err(err).Msg("container event stream broke; listing until it is back")
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

func (b *Backend) followOnce(ctx context.Context, since *time.Time) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := client.EventsListOptions{Filters: make(client.Filters).Add("type", "container").Add("event", streamed...)}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	res := b.c.Events(sctx, opts) // returns once the engine answered: nothing after is missed
	stale := true
	for {
		if stale {
			if err := b.relist(sctx); err != nil {
				return err
			}
			b.ev.live.Store(true)
			b.ev.connected.Store(true)
			stale = false
		}
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return fmt.Errorf("event stream closed")
			}
			if stale = b.note(m, since); stale {
				// A swap makes several events: take those that follow at once, then
				// list once.
				if err := b.burst(res, since); err != nil {
					return err
				}
			}
		case err := <-res.Err:
			return fmt.Errorf("event stream: %w", err)
		}
	}
}

// note applies one event: it wakes who waits on the container, and says whether the
// listing must be made again (it is not live until then).
func (b *Backend) note(m events.Message, since *time.Time) bool {
	if m.TimeNano > 0 {
		*since = time.Unix(0, m.TimeNano)
	}
	b.ev.wake(m.Actor.ID)
	if relistOn[m.Action] {
		b.ev.live.Store(false)
		return true
	}
	return false
}

// A burst's events that change the listing are at most burstQuiet apart, and a burst
// is cut at burstMax (health checks keep some containers' events flowing).
const (
	burstQuiet = 20 * time.Millisecond
	burstMax   = 200 * time.Millisecond
)

// burst reads the events of the burst one began.
func (b *Backend) burst(res client.EventsResult, since *time.Time) error {
	end := time.Now().Add(burstMax)
	t := time.NewTimer(burstQuiet)
	defer t.Stop()
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return fmt.Errorf("event stream closed")
			}
			if b.note(m, since) {
				t.Reset(min(burstQuiet, time.Until(end)))
			}
		case err := <-res.Err:
			return fmt.Errorf("event stream: %w", err)
		case <-t.C:
			return nil
		}
	}
}

// relist lists the containers again (List: an inspection only of the containers no
// listing read before); a container listed as before keeps its revision.
func (b *Backend) relist(ctx context.Context) error {
	s := &b.ev
	s.relisting.Lock()
	defer s.relisting.Unlock()
	ws, err := b.List(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]revised, len(ws))
	snap := updater.Snapshot{Workloads: ws, Revs: make([]uint64, len(ws)), Gen: s.snap.Gen}
	changed := len(ws) != len(s.revs)
	for i, w := range ws {
		old, ok := s.revs[w.ID]
		if !ok || !sameWorkload(old.w, w) {
			s.rev++
			old, changed = revised{w: w, rev: s.rev}, true
		}
		next[w.ID], snap.Revs[i] = old, old.rev
	}
	if changed {
		snap.Gen++
	}
	s.snap, s.revs = snap, next
	return nil
}

// Current is the listing of the containers while the event stream is live and no
// event since it calls for another.
func (b *Backend) Current() (updater.Snapshot, bool) {
	if !b.ev.live.Load() {
		return updater.Snapshot{}, false
	}
	b.ev.mu.Lock()
	defer b.ev.mu.Unlock()
	return b.ev.snap, true
}

// Streaming reports whether the engine's container event stream is connected.
func (b *Backend) Streaming() bool { return b.ev.connected.Load() }

// Refresh lists the containers again: hoist changed some itself (a swap renames and
// replaces containers), and the stream may not have told it yet.
func (b *Backend) Refresh(ctx context.Context, _ []string) error {
	if !b.ev.live.Load() {
		return nil // the updater lists through List
	}
	return b.relist(ctx)
}

var _ updater.Index = (*Backend)(nil)
