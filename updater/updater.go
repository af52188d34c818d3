package updater

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// Options wire an Updater.
type Options struct {
	Backends []Backend
	Policies *policy.Set
	// Plans holds each policy's rollout plan by policy name.
	Plans    map[string]Plan
	Resolver Resolver
	Store    *Store
	Log      zerolog.Logger
	// Concurrency bounds registry requests during a poll cycle.
	Concurrency int
	// ListTTL is how long a workload listing is reused for incoming events (default 2s).
	ListTTL time.Duration
	// Count, when set, counts what happens (name, label pairs), for metrics.
	Count func(name string, labels ...string)
	// Observe and Gauge, when set, record durations (summaries) and current states.
	Observe func(name string, v float64, labels ...string)
	Gauge   func(name string, v float64, labels ...string)
	// Now is the clock policy windows and digest ages are read on (default time.Now).
	Now func() time.Time
	// OnRecord, when set, is handed every record once it has ended (a rollout, a manual
	// action, a refused or equivalent digest), and each update held for an operator's
	// approval, once per workload and digest (outcome AwaitingApprovalOutcome; that one
	// is not stored). It must not block.
	OnRecord func(Rollout)
}

// Updater decides, queues and records rollouts.
type Updater struct {
	backends    map[policy.Kind]Backend
	rules       atomic.Pointer[ruleset] // policies and plans, swapped whole (SetPolicies)
	resolver    Resolver
	store       *Store
	log         zerolog.Logger
	concurrency int
	listTTL     time.Duration
	count       func(name string, labels ...string)
	observe     func(name string, v float64, labels ...string)
	gauge       func(name string, v float64, labels ...string)
	now         func() time.Time
	onRecord    func(Rollout)

	mu      sync.Mutex
	pending map[string]registry.PushEvent // coalesced by repo:tag
	wake    chan struct{}
	jobs    map[string]*job // by job key (workload, or container group)
	running sync.WaitGroup
	stopped bool // Run has returned or is returning: schedule starts nothing

	checkRetry time.Duration // see the constant

	noted   map[string]bool   // workload@digest already recorded as equivalent/refused
	wakeups map[string]wakeup // repo:tag → re-check of a deferred update
	// rechecks counts the re-checks of a tag a webhook found up to date (recheck.go).
	rechecks map[string]recheck

	// listMu serialises listings; what the last one found is swapped into listed, which
	// Enqueue reads without waiting on the engine.
	listMu sync.Mutex
	listed atomic.Pointer[listing]

	changes hub // what Subscribe hands out

	sig *signing // signature checks (verify.go); nil: none wired
}

// wakeup is a pending re-check of a deferred update.
type wakeup struct {
	at    time.Time
	timer *time.Timer
}

type job struct {
	again   bool
	trigger string
}

// New builds an Updater; call Run to start it.
func New(o Options) *Updater {
	u := &Updater{
		backends: map[policy.Kind]Backend{},
		resolver: o.Resolver, store: o.Store, log: o.Log, concurrency: o.Concurrency, listTTL: o.ListTTL,
		pending: map[string]registry.PushEvent{}, wake: make(chan struct{}, 1), jobs: map[string]*job{},
		count: o.Count, noted: map[string]bool{}, now: o.Now, onRecord: o.OnRecord,
		wakeups: map[string]wakeup{}, rechecks: map[string]recheck{}, checkRetry: checkRetry,
	}
	u.rules.Store(&ruleset{policies: o.Policies, plans: o.Plans})
	if u.now == nil {
		u.now = time.Now
	}
	if u.onRecord == nil {
		u.onRecord = func(Rollout) {}
	}
	if u.count == nil {
		u.count = func(string, ...string) {}
	}
	u.observe, u.gauge = o.Observe, o.Gauge
	if u.observe == nil {
		u.observe = func(string, float64, ...string) {}
	}
	if u.gauge == nil {
		u.gauge = func(string, float64, ...string) {}
	}
	if u.concurrency < 1 {
		u.concurrency = 8
	}
	if u.listTTL == 0 {
		u.listTTL = 2 * time.Second
	}
	for _, b := range o.Backends {
		u.backends[b.Kind()] = b
	}
	return u
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
	select {
	case u.wake <- struct{}{}:
	default:
	}
	return true
}

// Run dispatches events until ctx ends, then waits for rollouts in flight (backends
// let them end under their own grace period, then hand them over to the next hoist).
func (u *Updater) Run(ctx context.Context) error {
	// Rollouts a previous process left unfinished come first: each holds its
	// workload's slot, so no event for that workload is served before it has ended.
	u.resume(ctx)
	for {
		select {
		case <-ctx.Done():
			u.mu.Lock()
			u.stopped = true
			for k, w := range u.wakeups {
				w.timer.Stop()
				delete(u.wakeups, k)
			}
			u.mu.Unlock()
			u.running.Wait()
			return nil
		case <-u.wake:
			u.dispatch(ctx)
		}
	}
}

func (u *Updater) dispatch(ctx context.Context) {
	u.mu.Lock()
	evs := u.pending
	u.pending = map[string]registry.PushEvent{}
	u.mu.Unlock()
	ws, err := u.workloads(ctx, false)
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
		time.AfterFunc(retryList, func() {
			select {
			case u.wake <- struct{}{}:
			default:
			}
		})
		return
	}
	for _, ev := range evs {
		u.resolver.ForgetTags(ev.Repo)
		n := 0
		for _, w := range ws {
			tag, _, err := imageRef(u.resolver, w.Image)
			if err != nil || tag.Context().Name() != ev.Repo.Name() {
				continue
			}
			rule, _ := u.policies().For(w.Kind, w.Name, w.Labels)
			if rule == nil {
				continue
			}
			// A semver or tags policy follows other tags of the repository too.
			if ev.Tag != "" && ev.Tag != tag.TagStr() && !rule.ListsTags() {
				continue
			}
			u.schedule(ctx, u.jobKey(w, rule), ev.Source)
			n++
		}
		u.log.Debug().Str("event", ev.Key()).Str("source", ev.Source).Int("workloads", n).Msg("event dispatched")
	}
}

// retryList is how long events wait when listing workloads failed.
const retryList = 5 * time.Second

// jobKey serialises rollouts: one per service, one per group of containers that share a
// policy and an image.
func (u *Updater) jobKey(w Workload, rule *policy.Rule) string {
	if w.Kind == policy.Container {
		tag, _, _ := imageRef(u.resolver, w.Image)
		return "group/" + rule.Name + "/" + tag.String()
	}
	return w.Key()
}

// schedule runs the job for key unless it is running, in which case it runs once more
// afterwards (events during a rollout coalesce into one re-check).
func (u *Updater) schedule(ctx context.Context, key, trigger string) {
	u.startJob(ctx, key, trigger, nil)
}

// startJob is schedule with first, when not nil, run in place of the job's first
// check (a resumed rollout); the workload is checked once more after it.
func (u *Updater) startJob(ctx context.Context, key, trigger string, first func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped {
		return // Run is waiting for the rollouts in flight; no new one starts
	}
	if j, ok := u.jobs[key]; ok {
		j.again, j.trigger = true, trigger
		return
	}
	j := &job{trigger: trigger, again: first != nil}
	u.jobs[key] = j
	u.running.Add(1)
	go func() {
		defer u.running.Done()
		for {
			u.mu.Lock()
			trigger := j.trigger
			u.mu.Unlock()
			if first != nil {
				first()
				first = nil
			} else {
				u.process(ctx, key, trigger)
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

// process re-lists the workloads of key, decides, and rolls out.
func (u *Updater) process(ctx context.Context, key, trigger string) {
	ws, err := u.workloads(ctx, true)
	if err != nil {
		u.log.Error().Err(err).Str("job", key).Dur("retry_in", retryList).Msg("list workloads; retrying")
		time.AfterFunc(retryList, func() {
			if ctx.Err() == nil {
				u.schedule(ctx, key, trigger)
			}
		})
		return
	}
	var group []Status
	for _, w := range ws {
		rule, _ := u.policies().For(w.Kind, w.Name, w.Labels)
		if rule == nil || u.jobKey(w, rule) != key {
			continue
		}
		st := u.decide(ctx, w, nil)
		u.log.Debug().Str("job", key).Str("workload", w.Key()).Str("trigger", trigger).Str("action", string(st.Action)).Str("target", st.Target).Msg("decided")
		switch st.Action {
		case WouldUpdate:
			group = append(group, st)
			u.pushFound(st.tag)
		case CheckError:
			ev := u.log.Warn().Str("workload", w.Key()).Str("trigger", trigger)
			if registry.IsRetryable(st.err) {
				// A registry's bad minute must not lose a push: check again later.
				u.wakeAt(st.tag, u.now().Add(u.checkRetry), "retry")
				ev = ev.Dur("retry_in", u.checkRetry)
			}
			ev.Msg("check failed: " + st.Reason)
		case UpToDate:
			if registry.FromWebhook(trigger) {
				u.recheckPush(st.tag, trigger)
			}
		case Equivalent, Refused:
			u.noteOnce(w, st, trigger)
		case WatchOnly:
			u.watchOnly(w, st, trigger)
		case Quarantined:
			u.log.Info().Str("workload", w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Msg(st.Reason)
		case Deferred, AwaitingSignature:
			u.deferUntil(w, st)
		case AwaitingApproval:
			u.hold(w, st, trigger)
		}
	}
	if len(group) == 0 {
		return
	}
	u.rollout(ctx, group, trigger)
}

// workloads lists every backend's workloads, reusing a recent listing unless fresh.
// Listings are serialised, and what one finds is swapped in whole: Enqueue reads the
// last one and never waits on the engine.
func (u *Updater) workloads(ctx context.Context, fresh bool) ([]Workload, error) {
	u.listMu.Lock()
	defer u.listMu.Unlock()
	if l := u.listed.Load(); !fresh && l != nil && time.Since(l.at) < u.listTTL {
		return l.all, nil
	}
	var all []Workload
	for _, k := range []policy.Kind{policy.Service, policy.Container} {
		b, ok := u.backends[k]
		if !ok {
			continue
		}
		ws, err := b.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", k, err)
		}
		all = append(all, ws...)
	}
	u.listed.Store(&listing{all: all, at: time.Now(), watched: u.watchedBy(all)})
	return all, nil
}

// watchedBy returns the canonical names of the repositories a policy follows in ws.
func (u *Updater) watchedBy(ws []Workload) map[string]bool {
	set := u.policies()
	watched := map[string]bool{}
	for _, w := range ws {
		if rule, _ := set.For(w.Kind, w.Name, w.Labels); rule == nil {
			continue
		}
		if tag, _, err := imageRef(u.resolver, w.Image); err == nil {
			watched[tag.Context().Name()] = true
		}
	}
	return watched
}

// invalidate has the next caller list again.
func (u *Updater) invalidate() {
	if l := u.listed.Load(); l != nil {
		u.listed.Store(&listing{all: l.all, watched: l.watched})
	}
}

// Check runs one pass over every workload: it resolves each unique reference once and
// says what each workload's policy would do. With apply, it hands the workloads that
// need a rollout to the dispatcher (Run must be running).
func (u *Updater) Check(ctx context.Context, apply bool, trigger string) ([]Status, error) {
	return u.check(ctx, apply, trigger, nil)
}

// check is Check limited to the policies due says are due (nil: all).
func (u *Updater) check(ctx context.Context, apply bool, trigger string, due func(*policy.Rule) bool) ([]Status, error) {
	all, err := u.workloads(ctx, true)
	if err != nil {
		return nil, err
	}
	ws := all[:0:0]
	var refs []name.Reference // what digest policies follow; semver ones list tags instead
	for _, w := range all {
		rule, _ := u.policies().For(w.Kind, w.Name, w.Labels)
		if due != nil && (rule == nil || !due(rule)) {
			continue
		}
		ws = append(ws, w)
		if rule == nil || rule.ListsTags() {
			continue
		}
		if tag, _, err := imageRef(u.resolver, w.Image); err == nil {
			refs = append(refs, tag)
		}
	}
	known := u.resolver.ResolveMany(ctx, refs, u.concurrency)
	out := make([]Status, 0, len(ws))
	for _, w := range ws {
		st := u.decide(ctx, w, known)
		out = append(out, st)
		switch {
		case apply && st.Action == WouldUpdate:
			// Through the dispatcher: rollouts run under Run's context, never under a
			// caller's (an API request's context ends with the request).
			u.Enqueue(registry.PushEvent{Repo: st.tag.Context(), Tag: st.tag.TagStr(), Source: trigger})
		case apply && (st.Action == Equivalent || st.Action == Refused):
			u.noteOnce(w, st, trigger)
		case apply && st.Action == WatchOnly:
			u.watchOnly(w, st, trigger)
		case apply && (st.Action == Deferred || st.Action == AwaitingSignature):
			u.deferUntil(w, st)
		case apply && st.Action == AwaitingApproval:
			u.hold(w, st, trigger)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Workload.Key() < out[j].Workload.Key() })
	return out, nil
}

// deferUntil arranges a re-check of a deferred update when its policy allows it, so it
// starts on time even with polling off. It logs the deferral once per digest.
// The wake-up does not depend on the caller's context (an API request's ends with it);
// Run stops pending wake-ups when it returns.
func (u *Updater) deferUntil(w Workload, st Status) {
	at := st.NotBefore.Add(100 * time.Millisecond) // the clock must read NotBefore or later
	if u.firstTime("deferred/" + w.Key() + "@" + st.target.Digest.String()) {
		u.log.Info().Str("workload", w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Time("not_before", st.NotBefore).Msg(st.Reason)
	}
	u.wakeAt(st.tag, at, "schedule")
}

// checkRetry is how long a check that failed on a registry's retryable error waits
// before it is made again.
const checkRetry = 30 * time.Second

// wakeAt has tag checked again at at (trigger source), unless an earlier wake-up for
// it is pending.
func (u *Updater) wakeAt(tag name.Tag, at time.Time, source string) {
	k := tag.String()
	u.mu.Lock()
	defer u.mu.Unlock()
	if prev, ok := u.wakeups[k]; ok {
		if !prev.at.After(at) && prev.at.After(u.now()) {
			return // an earlier wake-up for this tag is pending
		}
		prev.timer.Stop()
	}
	ev := registry.PushEvent{Repo: tag.Context(), Tag: tag.TagStr(), Source: source}
	u.wakeups[k] = wakeup{at: at, timer: time.AfterFunc(at.Sub(u.now()), func() {
		u.mu.Lock()
		delete(u.wakeups, k)
		u.mu.Unlock()
		u.Enqueue(ev)
	})}
}

// hold tells, once per workload and digest, that an update waits for approval.
func (u *Updater) hold(w Workload, st Status, trigger string) {
	if !u.firstTime("approval/" + w.Key() + "@" + st.target.Digest.String()) {
		return
	}
	u.log.Info().Str("workload", w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Msg(st.Reason)
	now := u.now()
	u.onRecord(Rollout{Workload: w.Key(), From: w.Image, To: st.Target, Trigger: trigger, Started: now, Ended: now,
		Outcome: AwaitingApprovalOutcome, Reason: st.Reason})
	u.changed(ChangeApproval, w.Key())
}

// ErrNothingToApprove is returned by Approve when no update waits for approval, or
// when the one waiting is not the digest the operator named.
var ErrNothingToApprove = errors.New("nothing to approve")

// Approve lets the update waiting for key's approval roll out: the digest its policy
// would move it to now, which must be digest when one is given (approve what was
// reviewed, not what was pushed since). The approval covers every workload that rolls
// out with key (a container group). It returns key's status after the approval.
func (u *Updater) Approve(ctx context.Context, key, digest string) (Status, error) {
	ws, err := u.workloads(ctx, true)
	if err != nil {
		return Status{}, err
	}
	var st Status
	for _, w := range ws {
		if w.Key() == key {
			st = u.decide(ctx, w, nil)
		}
	}
	switch {
	case st.Workload.Key() != key:
		return st, fmt.Errorf("%w: %s (use kind/name, e.g. service/web)", ErrNoWorkload, key)
	case st.Action != AwaitingApproval:
		why := string(st.Action)
		if st.Reason != "" {
			why += ": " + st.Reason
		}
		return st, fmt.Errorf("%w: %s is %s", ErrNothingToApprove, key, why)
	case digest != "" && digest != st.target.Digest.String():
		return st, fmt.Errorf("%w: %s waits for approval of %s, not %s (a newer push replaced it; review that one)", ErrNothingToApprove, key, st.target.Digest, digest)
	}
	job := u.jobKey(st.Workload, st.rule)
	now := u.now()
	for _, w := range ws {
		if r, _ := u.policies().For(w.Kind, w.Name, w.Labels); r == nil || u.jobKey(w, r) != job {
			continue
		}
		if err := u.store.Approve(Approval{Workload: w.Key(), Digest: st.target.Digest.String(), At: now}); err != nil {
			return st, fmt.Errorf("record approval: %w", err)
		}
		u.log.Info().Str("workload", w.Key()).Str("target", st.Target).Msg("approved")
		u.changed(ChangeApproval, w.Key())
	}
	u.Enqueue(registry.PushEvent{Repo: st.tag.Context(), Tag: st.tag.TagStr(), Source: "approve"})
	return u.decide(ctx, st.Workload, nil), nil
}

// ErrNoWorkload is returned when a manual action names no known workload.
var ErrNoWorkload = errors.New("no such workload")

// ErrBusy is returned when a manual action meets a rollout in progress.
var ErrBusy = errors.New("a rollout is in progress for this workload; try again when it ends")

// ErrNothingKept is returned by Rollback and Finish when nothing is kept for a manual
// rollback (a service with no previous spec, a container with no previous container).
// Nothing was done and nothing is recorded.
var ErrNothingKept = errors.New("nothing is kept for a manual rollback")

// ErrFinishService is returned by Finish for a service: Swarm keeps the previous spec
// itself and hoist keeps no previous container to drop. Nothing is recorded.
var ErrFinishService = errors.New("finish is for containers: Swarm keeps a service's previous spec itself, there is no previous container to drop")

// Rollback returns a workload to its previous image (manual; recorded).
func (u *Updater) Rollback(ctx context.Context, key string) error {
	return u.manual(ctx, key, "rollback", func(b Backend, w Workload) error { return b.Rollback(ctx, w) })
}

// Finish drops what was kept for a manual rollback.
func (u *Updater) Finish(ctx context.Context, key string) error {
	return u.manual(ctx, key, "finish", func(b Backend, w Workload) error { return b.Finish(ctx, w) })
}

// manual runs a manual action on key's workload and records it. An action refused
// before it did anything (unknown workload, busy, nothing kept, finish on a service)
// returns its reason and is not recorded: the history holds what happened.
func (u *Updater) manual(ctx context.Context, key, what string, do func(Backend, Workload) error) error {
	ws, err := u.workloads(ctx, true)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.Key() != key {
			continue
		}
		switch {
		case what == "finish" && w.Kind == policy.Service:
			return fmt.Errorf("%w (%s)", ErrFinishService, key)
		case !w.HasPrevious:
			return fmt.Errorf("%w: %s", ErrNothingKept, key)
		}
		b := u.backends[w.Kind]
		// Hold the workload's rollout slot so no rollout runs meanwhile.
		jk := w.Key()
		if rule, _ := u.policies().For(w.Kind, w.Name, w.Labels); rule != nil {
			jk = u.jobKey(w, rule)
		}
		u.mu.Lock()
		if _, busy := u.jobs[jk]; busy {
			u.mu.Unlock()
			return fmt.Errorf("%w: %s", ErrBusy, key)
		}
		j := &job{}
		u.jobs[jk] = j
		u.mu.Unlock()
		defer func() {
			u.mu.Lock()
			delete(u.jobs, jk)
			again, trigger := j.again, j.trigger
			u.mu.Unlock()
			// Events that came in meanwhile are replayed through the dispatcher, which
			// runs under the server's context (ctx here is the caller's).
			if tag, _, err := imageRef(u.resolver, w.Image); again && err == nil {
				u.Enqueue(registry.PushEvent{Repo: tag.Context(), Tag: tag.TagStr(), Source: trigger})
			}
		}()
		start := time.Now()
		id, err := u.store.Begin(Rollout{Workload: key, From: w.Image, To: "(previous)", Trigger: "manual " + what, Started: start})
		if err != nil {
			return err
		}
		u.changedRollout(Rollout{ID: id, Workload: key, From: w.Image, To: "(previous)", Trigger: "manual " + what, Started: start, Outcome: Running})
		err = do(b, w)
		r := Rollout{ID: id, Workload: key, From: w.Image, To: "(previous)", Trigger: "manual " + what, Started: start, Ended: time.Now(), Outcome: Succeeded}
		if what == "finish" {
			r.To = w.Image
		}
		if err != nil {
			r.Outcome, r.Reason = Failed, err.Error()
		}
		// The digest rolled back from must not come straight back with the next poll.
		if err == nil && what == "rollback" {
			_, pinned, _ := imageRef(u.resolver, w.Image)
			if d := digestOf(w, pinned); d != "" {
				q := Quarantine{Workload: key, Digest: d, Since: r.Ended, Reason: "rolled back by an operator", Rollout: id}
				if qerr := u.store.Quarantine(q); qerr != nil {
					u.log.Error().Err(qerr).Msg("quarantine digest")
				}
				u.changed(ChangeQuarantine, key)
			}
		}
		if perr := u.store.Put(r); perr != nil {
			u.log.Error().Err(perr).Msg("record manual action")
		}
		u.onRecord(r)
		u.changedRollout(r)
		u.invalidate()
		u.log.Info().Str("workload", key).Str("action", what).AnErr("error", err).Msg("manual " + what)
		return err
	}
	return fmt.Errorf("%w: %s (use kind/name, e.g. service/web)", ErrNoWorkload, key)
}

// ClearQuarantine lets a workload retry digests that failed, and has it checked again.
func (u *Updater) ClearQuarantine(key string) (int, error) {
	n, err := u.store.ClearQuarantine(key)
	if err != nil {
		return n, err
	}
	u.changed(ChangeQuarantine, key)
	var ws []Workload
	if l := u.listed.Load(); l != nil {
		ws = l.all
	}
	for _, w := range ws {
		if w.Key() != key {
			continue
		}
		if tag, _, err := imageRef(u.resolver, w.Image); err == nil {
			u.Enqueue(registry.PushEvent{Repo: tag.Context(), Tag: tag.TagStr(), Source: "retry"})
		}
	}
	return n, nil
}

// Store returns the read half of the store.
func (u *Updater) Store() RolloutReader { return u.store }

// Workloads lists workloads with what a check would do; it changes nothing.
func (u *Updater) Workloads(ctx context.Context) ([]Status, error) { return u.Check(ctx, false, "") }

// firstTime reports whether k is seen for the first time (and remembers it).
func (u *Updater) firstTime(k string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	seen := u.noted[k]
	u.noted[k] = true
	return !seen
}

// noteOnce records a digest that needs no rollout (equivalent) or cannot have one
// (refused) once per workload, so the history says why nothing happened.
func (u *Updater) noteOnce(w Workload, st Status, trigger string) {
	if !u.firstTime(w.Key() + "@" + st.target.Digest.String()) {
		return
	}
	u.log.Info().Str("workload", w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Msg(st.Reason)
	now := u.now()
	r := Rollout{Workload: w.Key(), From: w.Image, To: st.Target, Trigger: trigger, Started: now, Ended: now, Outcome: Skipped, Reason: st.Reason}
	if st.Action == Refused {
		r.Outcome = RefusedOutcome
	}
	id, err := u.store.Add(r)
	if err != nil {
		u.log.Error().Err(err).Msg("record")
	}
	r.ID = id
	u.quarantineRefused(r, st)
	u.onRecord(r)
	u.changedRollout(r)
}
