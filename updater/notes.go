package updater

import (
	"sync"
	"time"
)

// What a check concluded for a workload that needs no rollout now is told once per
// workload and digest: an equivalent or refused digest gets a record, an update held
// for approval is handed to OnRecord and subscribers, a deferral is logged (and its
// re-check set each time).

// onceSet remembers what was told.
type onceSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether k is seen for the first time, and remembers it.
func (o *onceSet) first(k string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[k] {
		return false
	}
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	o.seen[k] = true
	return true
}

// deferUntil arranges a re-check of a deferred update when its policy allows it, so it
// starts on time even with polling off. It logs the deferral once per digest.
func (u *Updater) deferUntil(e entry, st Status) {
	at := st.NotBefore.Add(100 * time.Millisecond) // the clock must read NotBefore or later
	if u.firstTime("deferred/" + e.w.Key() + "@" + st.target.Digest.String()) {
		u.log.Info().Str("workload", e.w.Key()).Str("target", st.Target).Str("action", string(st.Action)).Time("not_before", st.NotBefore).Msg(st.Reason)
	}
	u.recheckAt(e.key, at, TriggerSchedule)
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

// firstTime reports whether k is seen for the first time (and remembers it).
func (u *Updater) firstTime(k string) bool { return u.noted.first(k) }

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
