package updater

import (
	"context"
	"slices"
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
	Store    Records
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
	store       Records
	log         zerolog.Logger
	concurrency int
	listTTL     time.Duration
	count       func(name string, labels ...string)
	observe     func(name string, v float64, labels ...string)
	gauge       func(name string, v float64, labels ...string)
	now         func() time.Time
	onRecord    func(Rollout)

	// queue (queue.go): events by repo:tag and jobs requeued by key, coalesced until
	// the dispatcher takes them; the jobs running, one per job key.
	queue *queue
	// timers (recheck.go): every re-check hoist makes of itself, one timer per key.
	timers *timers

	checkRetry time.Duration // see the constant

	noted onceSet // workload@digest already told (notes.go)

	// listMu serialises listings; what the last one found is swapped into listed, which
	// Enqueue reads without waiting on the engine.
	listMu sync.Mutex
	listed atomic.Pointer[listing]
	// matches counts policy matches of listed workloads (entries.go), for tests.
	matches atomic.Int64

	changes  hub // what Subscribe hands out
	progress *progressFeed

	sig *signing // signature checks (verify.go); nil: none wired

	prom promotions // metric gates and their readings (promote.go)
}

// New builds an Updater; call Run to start it.
func New(o Options) *Updater {
	u := &Updater{
		backends: map[policy.Kind]Backend{},
		resolver: o.Resolver, store: o.Store, log: o.Log, concurrency: o.Concurrency, listTTL: o.ListTTL,
		count: o.Count, now: o.Now, onRecord: o.OnRecord, checkRetry: checkRetry,
	}
	u.rules.Store(&ruleset{policies: o.Policies, plans: o.Plans})
	if u.now == nil {
		u.now = time.Now
	}
	u.queue = newQueue(u.process)
	u.timers = newTimers(func() time.Time { return u.now() }, u.queue.requeue, u.log) // u.now is read at each call
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
	u.progress = &progressFeed{backends: u.backends, stopped: u.queue.isStopped, changes: &u.changes, log: u.log,
		record: func(id uint64) (Rollout, error) { return u.store.Get(id) }}
	return u
}

// process decides for the workloads of key, read from a listing made at or after
// since, and rolls out.
func (u *Updater) process(ctx context.Context, key string, trigger Trigger, since time.Time) {
	l, err := u.listing(ctx, since)
	if err != nil {
		u.log.Error().Err(err).Str("job", key).Dur("retry_in", retryList).Msg("list workloads; retrying")
		u.recheckAt(key, u.now().Add(retryList), trigger)
		return
	}
	var group []Status
	for _, e := range l.entries {
		if e.rule == nil || e.key != key {
			continue
		}
		st := u.decide(ctx, e, nil)
		u.log.Debug().Str("job", key).Str("workload", e.w.Key()).Str("trigger", string(trigger)).Str("action", string(st.Action)).Str("target", st.Target).Msg("decided")
		switch st.Action {
		case WouldUpdate:
			group = append(group, st)
			u.timers.pushFound(key)
		case CheckError:
			ev := u.log.Warn().Str("workload", e.w.Key()).Str("trigger", string(trigger))
			if registry.IsRetryable(st.err) {
				// A registry's bad minute must not lose a push: check again later.
				u.recheckAt(key, u.now().Add(u.checkRetry), TriggerRetry)
				ev = ev.Dur("retry_in", u.checkRetry)
			}
			ev.Msg("check failed: " + st.Reason)
		case UpToDate:
			if trigger.FromWebhook() {
				u.timers.recheckPush(key, st.tag, trigger)
			}
		default:
			u.settle(ctx, e, st, trigger)
		}
	}
	if len(group) == 0 {
		return
	}
	// The approval is what lets a held digest out, whichever job saw it first (the
	// approval's own, or one a push, a poll or a reload started meanwhile).
	if trigger != TriggerRetry && slices.ContainsFunc(group, func(st Status) bool { return st.approved }) {
		trigger = TriggerApprove
	}
	u.rollout(ctx, group, string(trigger))
}

// settle does what a check concluded for a workload that needs no rollout now: it
// records what cannot or need not roll out, and arranges the re-check of what waits.
func (u *Updater) settle(ctx context.Context, e entry, st Status, trigger Trigger) {
	switch st.Action {
	case Equivalent, Refused:
		u.noteOnce(e.w, st, string(trigger))
	case WatchOnly:
		u.watchOnly(e.w, st, string(trigger))
	case Quarantined:
		u.log.Info().Str("workload", e.w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Msg(st.Reason)
	case Deferred, AwaitingSignature:
		u.deferUntil(e, st)
	case AwaitingApproval:
		u.hold(e.w, st, string(trigger))
	case AwaitingPromotion:
		u.awaitPromotion(ctx, e, st)
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
	l, err := u.listing(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	// Pointers into the listing, which never changes: a cycle copies no entry and
	// boxes no tag (bounded allocations over 10,000 workloads).
	es := make([]*entry, 0, len(l.entries))
	refs := make([]name.Reference, 0, len(l.entries)) // what digest policies follow; semver ones list tags instead
	for i := range l.entries {
		e := &l.entries[i]
		if due != nil && (e.rule == nil || !due(e.rule)) {
			continue
		}
		es = append(es, e)
		if e.rule == nil || e.rule.ListsTags() || e.tagErr != nil {
			continue
		}
		refs = append(refs, &e.tag)
	}
	known := u.resolver.ResolveMany(ctx, refs, u.concurrency)
	out := make([]Status, 0, len(es))
	for _, ep := range es {
		e := *ep
		st := u.decide(ctx, e, known)
		out = append(out, st)
		switch {
		case !apply, st.Action == UpToDate, st.Action == CheckError, st.Action == Quarantined:
		case st.Action == WouldUpdate:
			// Through the queue: rollouts run under Run's context, never under a
			// caller's (an API request's context ends with the request).
			u.requeue(e.key, Trigger(trigger), l.at)
		default:
			u.settle(ctx, e, st, Trigger(trigger))
		}
	}
	slices.SortFunc(out, func(a, b Status) int { return compareKeys(a.Workload, b.Workload) })
	return out, nil
}

// Store returns the read half of the store.
func (u *Updater) Store() RolloutReader { return u.store }

// Workloads lists workloads with what a check would do; it changes nothing.
func (u *Updater) Workloads(ctx context.Context) ([]Status, error) { return u.Check(ctx, false, "") }
