package updater

import (
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/registry"
)

// One timer mechanism serves every re-check hoist makes of itself: a deferred update's
// window or min_age, a signature's backoff, a check that failed on a registry's bad
// minute, a listing the engine did not answer, and the re-checks of a push below. Each
// is a timer per job key that requeues the job with its trigger when it fires. The
// webhook receiver's trailing event of a coalesced burst (EnqueueAfter) is one too.

// timers holds the pending re-checks and what the re-checks of a push used up. It has a
// lock of its own: setting a timer never waits on the queue.
type timers struct {
	now     func() time.Time
	requeue func(key string, t Trigger, since time.Time) // the queue's
	log     zerolog.Logger

	mu      sync.Mutex
	stopped bool              // Run is returning: no timer is set any more
	wakeups map[string]wakeup // job key (or "event/" repo:tag) → its pending re-check
	pushes  map[string]recheck
}

func newTimers(now func() time.Time, requeue func(string, Trigger, time.Time), log zerolog.Logger) *timers {
	return &timers{now: now, requeue: requeue, log: log, wakeups: map[string]wakeup{}, pushes: map[string]recheck{}}
}

// wakeup is a pending re-check of one job (or one repo:tag, EnqueueAfter).
type wakeup struct {
	at    time.Time
	timer *time.Timer
}

// recheckAt has the job of key run again at at with trigger t (timers.recheck).
func (u *Updater) recheckAt(key string, at time.Time, t Trigger) { u.timers.recheck(key, at, t) }

// EnqueueAfter hands ev to Enqueue after d, unless an earlier hand-over of its repo:tag
// is pending. It never blocks. The webhook receiver has the trailing event of a
// coalesced burst come back this way (it runs no timer of its own).
func (u *Updater) EnqueueAfter(ev registry.PushEvent, d time.Duration) {
	u.timers.at("event/"+ev.Key(), u.now().Add(d), func() { u.Enqueue(ev) })
}

// recheck has the job of key run again at at with trigger t, unless an earlier
// re-check of it is pending. It does not depend on any caller's context (an API
// request's ends with it); Run stops pending re-checks when it returns.
func (ts *timers) recheck(key string, at time.Time, t Trigger) {
	ts.at(key, at, func() { ts.requeue(key, t, time.Now()) })
}

// at calls fire at at, under key k: a pending earlier one for k wins, a later one
// is replaced.
func (ts *timers) at(k string, at time.Time, fire func()) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.stopped {
		return
	}
	if prev, ok := ts.wakeups[k]; ok {
		if !prev.at.After(at) && prev.at.After(ts.now()) {
			return // an earlier one is pending
		}
		prev.timer.Stop()
	}
	ts.wakeups[k] = wakeup{at: at, timer: time.AfterFunc(at.Sub(ts.now()), func() {
		ts.mu.Lock()
		delete(ts.wakeups, k)
		ts.mu.Unlock()
		fire()
	})}
}

// stop drops every pending re-check and sets no more (Run is returning).
func (ts *timers) stop() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.stopped = true
	for k, w := range ts.wakeups {
		w.timer.Stop()
		delete(ts.wakeups, k)
	}
}

// checkRetry is how long a check that failed on a registry's retryable error waits
// before it is made again.
const checkRetry = 30 * time.Second

// pushRechecks are when a tag is asked of its registry again after a webhook found the
// workload up to date: a registry may notify a push before its tag points at the new
// manifest (Distribution sends the manifest's event, then tags it), so the first
// lookup can still see the old digest. A forged notification costs these lookups, no
// more.
var pushRechecks = []time.Duration{2 * time.Second, 5 * time.Second}

// recheckWindow is how long the re-checks of one job count against pushRechecks: a
// push a minute later gets its own.
const recheckWindow = time.Minute

// recheck is how many re-checks of a push a job had since when.
type recheck struct {
	n     int
	since time.Time
}

// recheckPush has the job of key, whose workload follows tag, run again after the next
// of pushRechecks, unless the job used them up within recheckWindow. The re-check keeps the
// webhook's trigger, so a rollout it starts is recorded with the webhook as its trigger.
func (ts *timers) recheckPush(key string, tag name.Tag, t Trigger) {
	now := ts.now()
	ts.mu.Lock()
	for k, r := range ts.pushes {
		if now.Sub(r.since) > recheckWindow {
			delete(ts.pushes, k)
		}
	}
	r, ok := ts.pushes[key]
	if !ok {
		r = recheck{since: now}
	}
	if r.n >= len(pushRechecks) {
		ts.mu.Unlock()
		return
	}
	after := pushRechecks[r.n]
	r.n++
	ts.pushes[key] = r
	ts.mu.Unlock()
	ts.log.Debug().Str("tag", tag.String()).Str("job", key).Str("trigger", string(t)).Dur("in", after).Msg("up to date after a push notification; asking the registry again")
	ts.recheck(key, now.Add(after), t)
}

// pushFound forgets the re-checks of the job of key once a check found its tag moved:
// the next push notification gets its own.
func (ts *timers) pushFound(key string) {
	ts.mu.Lock()
	delete(ts.pushes, key)
	ts.mu.Unlock()
}
