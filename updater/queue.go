package updater

import (
	"context"
	"time"

	"github.com/hoist-dev/hoist/registry"
)

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
	ev = u.sigPushed(ev)
	// Drop events for unused repositories only while the listing is fresh; otherwise
	// the dispatcher re-lists (at most once per ListTTL) and decides. The listing is a
	// snapshot: a listing in flight never holds an event up.
	l := u.listed.Load()
	if l != nil && time.Since(l.at) < u.listTTL && !l.watched[ev.Repo.Name()] {
		u.count("hoist_events_total", "source", ev.Source, "result", "unwatched")
		return false
	}
	u.count("hoist_events_total", "source", ev.Source, "result", "accepted")
	u.mu.Lock()
	u.pending[ev.Key()] = ev
	u.mu.Unlock()
	u.wakeDispatcher()
	return true
}

// requeued is a job requeued by key: the trigger of its re-check, and how recent a
// listing the run needs (one made at or after since).
type requeued struct {
	trigger Trigger
	since   time.Time
}

// requeue has the job of key run again with trigger t, on a listing made at or after
// since: the way every internal re-check (an approval, a retry, a manual action, a
// timer) comes back. It never blocks, and jobs requeued before Run starts run once it
// does.
func (u *Updater) requeue(key string, t Trigger, since time.Time) {
	u.mu.Lock()
	if r, ok := u.requeued[key]; ok && r.since.After(since) {
		since = r.since
	}
	u.requeued[key] = requeued{trigger: t, since: since}
	u.mu.Unlock()
	u.wakeDispatcher()
}

func (u *Updater) wakeDispatcher() {
	select {
	case u.wake <- struct{}{}:
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
			u.mu.Lock()
			u.stopped = true
			u.mu.Unlock()
			u.stopRechecks()
			u.running.Wait()
			return nil
		case <-u.wake:
			u.dispatch(ctx)
		}
	}
}

// dispatch starts the jobs requeued by key, and the jobs of the workloads each pending
// event names, read from one listing's entries.
func (u *Updater) dispatch(ctx context.Context) {
	start := time.Now()
	u.mu.Lock()
	evs, keys := u.pending, u.requeued
	u.pending, u.requeued = map[string]registry.PushEvent{}, map[string]requeued{}
	u.mu.Unlock()
	for key, r := range keys {
		u.schedule(ctx, key, r.trigger, r.since)
	}
	if len(evs) == 0 {
		return
	}
	l, err := u.listing(ctx, time.Time{})
	if err != nil {
		// The engine did not answer: keep the events (newer ones for the same tag win)
		// and try again shortly, rather than lose a push until the next one.
		u.log.Error().Err(err).Int("events", len(evs)).Dur("retry_in", retryList).Msg("list workloads; events kept for a retry")
		u.mu.Lock()
		for k, ev := range evs {
			if _, newer := u.pending[k]; !newer {
				u.pending[k] = ev
			}
		}
		u.mu.Unlock()
		time.AfterFunc(retryList, u.wakeDispatcher)
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
			u.schedule(ctx, e.key, Trigger(ev.Source), start)
			started[e.key] = true
		}
		u.log.Debug().Str("event", ev.Key()).Str("source", ev.Source).Int("jobs", len(started)).Msg("event dispatched")
	}
}

// retryList is how long events wait when listing workloads failed.
const retryList = 5 * time.Second

// schedule runs the job for key unless it is running, in which case it runs once more
// afterwards (events during a rollout coalesce into one re-check). The run reads a
// listing made at or after since.
func (u *Updater) schedule(ctx context.Context, key string, t Trigger, since time.Time) {
	u.start(ctx, key, t, since, nil)
}

// startJob is schedule with first, when not nil, run in place of the job's first
// check (a resumed rollout); the workload is checked once more after it.
func (u *Updater) startJob(ctx context.Context, key string, t Trigger, first func()) {
	u.start(ctx, key, t, time.Now(), first)
}

func (u *Updater) start(ctx context.Context, key string, t Trigger, since time.Time, first func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped {
		return // Run is waiting for the rollouts in flight; no new one starts
	}
	if j, ok := u.jobs[key]; ok {
		j.again, j.trigger = true, t
		if since.After(j.since) {
			j.since = since
		}
		return
	}
	j := &job{trigger: t, again: first != nil, since: since}
	u.jobs[key] = j
	u.running.Add(1)
	go func() {
		defer u.running.Done()
		for {
			u.mu.Lock()
			t, since := j.trigger, j.since
			u.mu.Unlock()
			if first != nil {
				first()
				first = nil
			} else {
				u.process(ctx, key, t, since)
			}
			u.mu.Lock()
			if !j.again || ctx.Err() != nil {
				delete(u.jobs, key)
				u.mu.Unlock()
				return
			}
			j.again = false
			u.mu.Unlock()
		}
	}()
}
