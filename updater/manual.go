package updater

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// What an operator asks of the updater, through the API and the dashboard: approve an
// update held for approval, roll a workload back or finish it by hand, clear a
// workload's quarantine. Each reads the current entries, never matches again, and hands
// what should follow back to the queue (trigger approve or retry).

// ErrNothingToApprove is returned by Approve when no update waits for approval, or
// when the one waiting is not the digest the operator named.
var ErrNothingToApprove = errors.New("nothing to approve")

// Approve lets the update waiting for key's approval roll out: the digest its policy
// would move it to now, which must be digest when one is given (approve what was
// reviewed, not what was pushed since). The approval covers every workload that rolls
// out with key (a container group). It returns key's status after the approval.
func (u *Updater) Approve(ctx context.Context, key, digest string) (Status, error) {
	l, err := u.listing(ctx, time.Now())
	if err != nil {
		return Status{}, err
	}
	e, found := l.find(key)
	var st Status
	if found {
		st = u.decide(ctx, e, nil)
	}
	switch {
	case !found:
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
	now := u.now()
	for _, o := range l.entries {
		if o.rule == nil || o.key != e.key {
			continue
		}
		if err := u.store.Approve(Approval{Workload: o.w.Key(), Digest: st.target.Digest.String(), At: now}); err != nil {
			return st, fmt.Errorf("record approval: %w", err)
		}
		u.log.Info().Str("workload", o.w.Key()).Str("target", st.Target).Msg("approved")
		u.changed(ChangeApproval, o.w.Key())
	}
	u.requeue(e.key, TriggerApprove, l.at)
	return u.decide(ctx, e, nil), nil
}

// ErrNoWorkload is returned when a manual action names no known workload.
var ErrNoWorkload = errors.New("no such workload")

// checkWait is how long a manual action waits for the workload's slot: a check holds
// it for a moment, a rollout for longer.
const checkWait = 5 * time.Second

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
	l, err := u.listing(ctx, time.Now())
	if err != nil {
		return err
	}
	for _, e := range l.entries {
		w := e.w
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
		// Hold the workload's rollout slot so no rollout runs meanwhile; events that
		// came in meanwhile requeue the job when it is released.
		release, ok := u.queue.claimWait(ctx, e.key, checkWait)
		if !ok {
			return fmt.Errorf("%w: %s", ErrBusy, key)
		}
		defer release()
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
			if d := digestOf(w, e.pinned); d != "" {
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
		u.invalidate(key)
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
	if l := u.listed.Load(); l != nil {
		if e, ok := l.find(key); ok && e.rule != nil {
			u.requeue(e.key, TriggerRetry, time.Now())
		}
	}
	return n, nil
}
