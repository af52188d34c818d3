package updater

import (
	"time"

	"github.com/rs/zerolog"
)

// handOver leaves the records of a rollout hoist stopped before it ended as they are in
// the store: running, in the phase they reached. Nothing is quarantined or notified;
// the next hoist resumes them (resume.go) and records how they end.
func (u *Updater) handOver(recs []Rollout, res Result, log zerolog.Logger) {
	phase := PhaseSubmitted
	for _, r := range recs {
		if stored, err := u.store.Get(r.ID); err == nil {
			r = stored
		}
		if r.Phase != "" {
			phase = r.Phase
		}
		u.changedRollout(r)
	}
	ev := log.Warn().Str("state", string(HandedOver)).Str("phase", string(phase)).Str("reason", res.Reason)
	if len(recs) > 0 {
		ev = ev.Dur("took", time.Since(recs[0].Started))
		u.count("hoist_rollouts_handed_over_total", "kind", kindOf(recs[0].Workload))
	}
	ev.Msg("hoist is stopping: rollout left to the next hoist (phase " + string(phase) + ")")
}
