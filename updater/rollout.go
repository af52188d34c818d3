package updater

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/registry"
)

// rollout runs one backend update for statuses that share a target, and records it:
// each record is written, with its plan and deadline, before the backend changes
// anything, and moves through the phases the backend reports, so that a hoist killed
// at any moment finds on restart what was under way (resume.go).
func (u *Updater) rollout(ctx context.Context, group []Status, trigger string) {
	first := group[0]
	t := first.target
	ws := make([]Workload, len(group))
	for i, st := range group {
		ws[i] = st.Workload
	}
	log := u.log.With().Str("workload", first.Workload.Key()).Str("image", t.Tag.String()).Str("digest", t.Digest.String()).Str("trigger", trigger).Logger()
	if len(ws) > 1 {
		log = log.With().Int("group", len(ws)).Logger()
	}
	b, ok := u.backends[first.Workload.Kind]
	if !ok {
		log.Error().Msg("no backend for this kind of workload")
		return
	}
	plan := u.plan(first.Policy)
	if auth, err := u.resolver.Authenticator(ctx, t.Tag.Context()); err == nil {
		t.RegistryAuth = encodeAuth(auth, t.Tag.Context())
	}
	recs := make([]Rollout, len(ws))
	now := time.Now()
	for i, w := range ws {
		r := Rollout{Workload: w.Key(), From: w.Image, To: t.Image(), Trigger: trigger, Started: now,
			Plan: &plan, Deadline: now.Add(plan.TimeoutOrDefault()), SignedBy: signedBy(group[i]), Gate: group[i].gate}
		r.Enter(PhaseSubmitted, now)
		id, err := u.store.Begin(r)
		if err != nil {
			log.Error().Err(err).Msg("record rollout start; not rolling out")
			return
		}
		r.ID, r.Outcome = id, Running
		recs[i] = r
		u.changedRollout(r)
	}
	log.Info().Str("state", "started").Str("from", first.Workload.Image).Msg("rollout started")
	res := b.Update(ctx, ws, t, plan, u.journal(recs, log), log)
	u.end(recs, res, log)
}

// journal writes each phase the backend enters to every record of the rollout, one
// store write per record and phase.
func (u *Updater) journal(recs []Rollout, log zerolog.Logger) Journal {
	return func(p Phase, notes ...string) {
		now := time.Now()
		for _, r := range recs {
			stored, err := u.store.SetPhase(r.ID, p, now)
			if err != nil {
				log.Error().Err(err).Str("phase", string(p)).Msg("record rollout phase")
				continue
			}
			stored = u.notePhase(stored, notes, log)
			u.changedRollout(stored)
			if p == PhaseConverging || p == PhaseRollingBack {
				go u.progress.follow(stored, p)
			}
		}
		log.Debug().Str("phase", string(p)).Msg("rollout phase")
	}
}

// end records how the rollout of recs ended, quarantines a digest that failed, and
// hands each record on. A rollout handed over to the next hoist has not ended.
func (u *Updater) end(recs []Rollout, res Result, log zerolog.Logger) {
	if res.Outcome == HandedOver {
		u.handOver(recs, res, log)
		return
	}
	end := time.Now()
	kind := ""
	if len(recs) > 0 {
		kind = kindOf(recs[0].Workload)
		u.count("hoist_rollouts_total", "kind", kind, "outcome", string(res.Outcome))
		u.observe("hoist_rollout_duration_seconds", end.Sub(recs[0].Started).Seconds(), "kind", kind, "outcome", string(res.Outcome))
	}
	ev := log.Info()
	if res.Outcome != Succeeded && res.Outcome != Skipped {
		ev = log.Warn()
	}
	if len(recs) > 0 {
		ev = ev.Dur("took", end.Sub(recs[0].Started))
	}
	ev.Str("state", string(res.Outcome)).Str("reason", res.Reason).Str("order", res.Order).Msg("rollout ended")
	for _, r := range recs {
		// The stored record has the phases and deadlines written meanwhile.
		if stored, err := u.store.Get(r.ID); err == nil {
			r = stored
		}
		r.Ended, r.Outcome, r.Reason, r.Order, r.Logs = end, res.Outcome, res.Reason, res.Order, res.Logs
		r.Enter(PhaseEnded, end)
		var q *Quarantine
		if res.Outcome == RolledBack || res.Outcome == Failed {
			q = quarantineOf(u.store, &r, res, end)
		}
		if err := u.store.PutQuarantined(r, q); err != nil {
			log.Error().Err(err).Msg("record rollout end (and quarantine its digest)")
		}
		u.onRecord(r)
		u.changedRollout(r)
	}
	u.invalidate(rolloutKeys(recs)...)
}

// maxSpared is how many rollbacks of one digest that were not its image's fault (a
// node lost mid-rollout) go without a quarantine: a node that keeps going away cannot
// make a loop of rollouts.
const maxSpared = 2

// quarantineOf returns the quarantine of the digest r failed on, or nil when it is
// spared: the backend said the failure was not the image's, and it has not been rolled
// back maxSpared times already (as the records of rs say). r's reason says which.
func quarantineOf(rs RolloutReader, r *Rollout, res Result, at time.Time) *Quarantine {
	if res.NotTheImage {
		n := 0
		earlier, err := rs.Rollouts(r.Workload, 100)
		for _, e := range earlier {
			if e.ID != r.ID && e.To == r.To && e.Outcome == RolledBack {
				n++
			}
		}
		if err == nil && n < maxSpared {
			r.Reason += "; not quarantined: the next check tries it again"
			return nil
		}
		r.Reason += fmt.Sprintf("; quarantined all the same: rolled back %d times before", n)
	}
	return &Quarantine{Workload: r.Workload, Digest: registry.DigestOf(r.To), Since: at, Reason: r.Reason, Rollout: r.ID}
}

// kindOf is the kind part of a workload key ("service/web" → "service").
func kindOf(key string) string {
	for i := range len(key) {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return key
}
