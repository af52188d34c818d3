package swarm

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/updater/internal/wake"
)

// stream follows the engine's event stream for the backend: it keeps the index of the
// services current (index.go) and wakes the rollouts that wait on a service when
// something happens to it (its spec or update state, one of its task's containers
// dying or changing health). Its zero value is ready; Follow runs it.
type stream struct {
	running   atomic.Bool
	connected atomic.Bool // the engine answered the stream, and it has not broken since
	live      atomic.Bool
	idx       index
	// retry is how long Follow waits before it connects again after a gap.
	retry time.Duration

	mu     sync.Mutex
	wakers wake.Set           // by service ID: closed at its next event
	deaths map[string][]death // service ID → its containers' recent deaths (deaths.go)
}

// next returns a channel closed at the next event about the service id, or at a gap in
// the stream. While the stream is not live it returns nil (a wait on it never ends:
// the caller's own polling carries on).
func (s *stream) next(id string) <-chan struct{} {
	if !s.live.Load() {
		return nil
	}
	return s.wakers.Next(id)
}

// wake closes the channel of the service id, if one waits.
func (s *stream) wake(id string) { s.wakers.Wake(id) }

// wakeAll wakes every waiter: the stream started or broke, so each looks at once.
func (s *stream) wakeAll() { s.wakers.WakeAll() }

// Follow keeps the index of the services current from the engine's event stream until
// ctx ends: it subscribes, lists every service, then applies each event. When the
// stream breaks it connects again from the time of the last event it applied (so
// nothing is missed) and lists again (so nothing missed in a longer gap stays wrong);
// meanwhile the index is not live and the updater lists through List.
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
		b.followOnce(ctx, &since) // the updater says when the stream breaks (Streaming)
		b.ev.connected.Store(false)
		b.ev.live.Store(false)
		b.ev.wakeAll()
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

// streamed are the events the stream asks for: a service's, and those of a task's
// container a watch wakes up for. Not the exec events of every health check (three per
// check and container, which the engine would send for nothing).
var streamed = []string{"create", "update", "remove", "start", "die", "health_status", "destroy", "oom", "kill", "stop"}

// followOnce runs one connection of the stream until it breaks, advancing since to the
// time of each event applied.
func (b *Backend) followOnce(ctx context.Context, since *time.Time) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := client.EventsListOptions{Filters: make(client.Filters).Add("type", "service").Add("type", "container").Add("event", streamed...)}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	res := b.c.Events(sctx, opts) // returns once the engine answered: nothing after is missed
	if err := b.relist(sctx); err != nil {
		return err
	}
	b.ev.live.Store(true)
	b.ev.connected.Store(true)
	b.ev.wakeAll()
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return fmt.Errorf("event stream closed")
			}
			if err := b.apply(sctx, m); err != nil {
				return err
			}
			if m.TimeNano > 0 {
				*since = time.Unix(0, m.TimeNano)
			}
		case err := <-res.Err:
			return fmt.Errorf("event stream: %w", err)
		}
	}
}

// relist replaces the index with a full listing of the services.
func (b *Backend) relist(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	b.ev.idx.replace(res.Items)
	return nil
}

// apply brings one event into the index and wakes who waits on its service. A
// service's create or update is read back from the engine, which holds its whole spec.
func (b *Backend) apply(ctx context.Context, m events.Message) error {
	switch m.Type {
	case events.ContainerEventType:
		if id := m.Actor.Attributes[labelServiceID]; id != "" {
			if d, ok := deathOf(m.Actor.Attributes, time.Unix(0, m.TimeNano)); ok && m.Action == events.ActionDie {
				b.ev.died(id, d)
			}
			b.ev.wake(id)
		}
		return nil
	case events.ServiceEventType:
	default:
		return nil
	}
	id := m.Actor.ID
	b.ev.wake(id)
	if m.Action == events.ActionRemove {
		b.ev.idx.remove(id)
		return nil
	}
	ictx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.ServiceInspect(ictx, id, client.ServiceInspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		b.ev.idx.remove(id)
	case err != nil:
		return fmt.Errorf("inspect service %s after its %s event: %w", id, m.Action, err)
	default:
		b.ev.idx.put(res.Service)
	}
	return nil
}

// labelServiceID is the label Swarm gives a task's container: its service's ID.
const labelServiceID = "com.docker.swarm.service.id"

// After an event wakes a rollout it looks every burstEvery for burstFor: a container's
// death reaches the stream before Swarm marks its task failed.
const (
	burstEvery = 10 * time.Millisecond
	burstFor   = 500 * time.Millisecond
)
