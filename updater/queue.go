package updater

import (
	"context"
	"sync"
	"time"

	"github.com/hoist-dev/hoist/registry"
)

// queue holds what waits for the dispatcher and the jobs that run: events coalesced by
// repo:tag, jobs requeued by key, and one slot per job key (workload, or container
// group). A job runs run (Updater.process); at most one runs per key.
type queue struct {
	run func(ctx context.Context, key string, t Trigger, since time.Time)

	mu       sync.Mutex
	pending  map[string]registry.PushEvent // coalesced by repo:tag
	requeued map[string]requeued           // jobs requeued by key
	wake     chan struct{}
	jobs     map[string]*job // by job key
	running  sync.WaitGroup
	stopped  bool // Run has returned or is returning: start starts nothing
}

func newQueue(run func(ctx context.Context, key string, t Trigger, since time.Time)) *queue {
	return &queue{run: run, pending: map[string]registry.PushEvent{}, requeued: map[string]requeued{},
		wake: make(chan struct{}, 1), jobs: map[string]*job{}}
}

// job is the queue's slot of one job key: at most one runs per key, and requests that
// come while it runs coalesce into one more run.
type job struct {
	again   bool
	trigger Trigger
	since   time.Time // the latest request: its run reads a listing made at or after it
}

// Enqueue takes a hint that a tag moved. It never blocks: events for the same repo:tag
// coalesce until the dispatcher takes them. It returns false when no workload uses the
// repository (the event is dropped).
func (u *Updater) Enqueue(ev registry.PushEvent) bool {
	ev = u.sig.pushed(ev)
	// Drop events for unused repositories only while the listing is fresh; otherwise
	// the dispatcher re-lists (at most once per ListTTL) and decides. The listing is a
	// snapshot: a listing in flight never holds an event up.
	l := u.listed.Load()
	if l != nil && time.Since(l.at) < u.listTTL && !l.watched[ev.Repo.Name()] {
		u.count("hoist_events_total", "source", ev.Source, "result", "unwatched")
		return false
	}
	u.count("hoist_events_total", "source", ev.Source, "result", "accepted")
	q := u.queue
	q.mu.Lock()
	q.pending[ev.Key()] = ev
	q.mu.Unlock()
	q.wakeUp()
	return true
}

// requeued is a job requeued by key: the trigger of its re-check, and how recent a
// listing the run needs (one made at or after since).
type requeued struct {
	trigger Trigger
	since   time.Time
}

// requeue has the job of key run again with trigger t (queue.requeue).
func (u *Updater) requeue(key string, t Trigger, since time.Time) { u.queue.requeue(key, t, since) }

// requeue has the job of key run again with trigger t, on a listing made at or after
// since: the way every internal re-check (an approval, a retry, a manual action, a
// timer) comes back. It never blocks, and jobs requeued before Run starts run once it
// does.
func (q *queue) requeue(key string, t Trigger, since time.Time) {
	q.mu.Lock()
	if r, ok := q.requeued[key]; ok && r.since.After(since) {
		since = r.since
	}
	q.requeued[key] = requeued{trigger: t, since: since}
	q.mu.Unlock()
	q.wakeUp()
}

// wakeUp has the dispatcher look at the queue; it never blocks.
func (q *queue) wakeUp() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run dispatches events until ctx ends, then waits for rollouts in flight (backends
// let them end under their own grace period, then hand them over to the next hoist).
func (u *Updater) Run(ctx context.Context) error {
	// Rollouts a previous process left unfinished come first: each holds its
	// workload's slot, so no event for that workload is served before it has ended.
	u.follow(ctx)
	u.resume(ctx)
	for {
		select {
		case <-ctx.Done():
			u.queue.stop()
			u.timers.stop()
			u.queue.running.Wait()
			return nil
		case <-u.queue.wake:
			u.dispatch(ctx)
		}
	}
}

// dispatch starts the jobs requeued by key, and the jobs of the workloads each pending
// event names, read from one listing's entries.
func (u *Updater) dispatch(ctx context.Context) {
	start := time.Now()
	q := u.queue
	q.mu.Lock()
	evs, keys := q.pending, q.requeued
	q.pending, q.requeued = map[string]registry.PushEvent{}, map[string]requeued{}
	q.mu.Unlock()
	for key, r := range keys {
		q.start(ctx, key, r.trigger, r.since, nil)
	}
	if len(evs) == 0 {
		return
	}
	l, err := u.listing(ctx, time.Time{})
	if err != nil {
		// The engine did not answer: keep the events (newer ones for the same tag win)
		// and try again shortly, rather than lose a push until the next one.
		u.log.Error().Err(err).Int("events", len(evs)).Dur("retry_in", retryList).Msg("list workloads; events kept for a retry")
		q.mu.Lock()
		for k, ev := range evs {
			if _, newer := q.pending[k]; !newer {
				q.pending[k] = ev
			}
		}
		q.mu.Unlock()
		time.AfterFunc(retryList, q.wakeUp)
		return
	}
	for _, ev := range evs {
		u.resolver.ForgetTags(ev.Repo)
		started := map[string]bool{}
		for _, e := range l.following(ev.Repo.Name()) {
			if started[e.key] {
				continue
			}
			// A semver or tags policy follows other tags of the repository too.
			if ev.Tag != "" && ev.Tag != e.tag.TagStr() && !e.rule.ListsTags() {
				continue
			}
			q.start(ctx, e.key, Trigger(ev.Source), start, nil)
			started[e.key] = true
		}
		u.log.Debug().Str("event", ev.Key()).Str("source", ev.Source).Int("jobs", len(started)).Msg("event dispatched")
	}
}

// retryList is how long events wait when listing workloads failed.
const retryList = 5 * time.Second

// start runs the job for key unless it is running, in which case it runs once more
// afterwards (events during a rollout coalesce into one re-check). The run reads a
// listing made at or after since. first, when not nil, runs in place of the job's
// first check (a resumed rollout); the workload is checked once more after it.
func (q *queue) start(ctx context.Context, key string, t Trigger, since time.Time, first func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return // Run is waiting for the rollouts in flight; no new one starts
	}
	if j, ok := q.jobs[key]; ok {
		j.again, j.trigger = true, t
		if since.After(j.since) {
			j.since = since
		}
		return
	}
	j := &job{trigger: t, again: first != nil, since: since}
	q.jobs[key] = j
	q.running.Add(1)
	go func() {
		defer q.running.Done()
		for {
			q.mu.Lock()
			t, since := j.trigger, j.since
			q.mu.Unlock()
			if first != nil {
				first()
				first = nil
			} else {
				q.run(ctx, key, t, since)
			}
			q.mu.Lock()
			if !j.again || ctx.Err() != nil {
				delete(q.jobs, key)
				q.mu.Unlock()
				return
			}
			j.again = false
			q.mu.Unlock()
		}
	}()
}

// claim takes key's slot for work done outside the queue (a manual action); false
// when a job holds it. release frees the slot, and requeues the job when requests for
// it came meanwhile: it then runs under Run's context, not the claimer's.
func (q *queue) claim(key string) (release func(), ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, busy := q.jobs[key]; busy {
		return nil, false
	}
	j := &job{}
	q.jobs[key] = j
	return func() {
		q.mu.Lock()
		delete(q.jobs, key)
		again, t := j.again, j.trigger
		q.mu.Unlock()
		if again {
			q.requeue(key, t, time.Now())
		}
	}, true
}

// claimWait is claim that waits up to d for the job that holds key's slot to end: a
// check of the workload (a poll, an event that changed nothing) holds it for a moment,
// and a manual action should not be refused for that. A rollout outlasts the wait.
func (q *queue) claimWait(ctx context.Context, key string, d time.Duration) (release func(), ok bool) {
	deadline := time.Now().Add(d)
	for {
		if release, ok := q.claim(key); ok || !time.Now().Before(deadline) {
			return release, ok
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop has start start nothing any more (Run is returning).
func (q *queue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
}

// isStopped reports whether Run has returned or is returning.
func (q *queue) isStopped() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopped
}

// idle reports whether no job runs and nothing is queued.
func (q *queue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs) == 0 && len(q.pending) == 0 && len(q.requeued) == 0
}
