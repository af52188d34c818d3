package swarm

import (
	"context"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

// resumeCanary takes over a rollout a stopped hoist left in its canary stage, from what
// Swarm shows; handled is false when Resume's usual reading applies:
//
//   - the service runs the target, or the plan has no canary (any more): a canary
//     service left over is removed and Resume reads the service as usual;
//   - the record says the canary failed (rolling back after the canary): the canary
//     service, if still there, is removed, and the rollout ends rolled back — it is
//     never judged a second time;
//   - a canary service runs the target: its hold is taken up, counted from when its
//     tasks started (a task that stopped meanwhile fails it);
//   - the record is in the canary stage and no canary runs: the canary starts again.
func (b *Backend) resumeCanary(ctx context.Context, w updater.Workload, rec updater.Rollout, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger, svc swarm.Service, old string) (res updater.Result, handled bool) {
	cur, target := specImage(svc.Spec), t.Image()
	if cur == target {
		if err := b.dropCanary(context.WithoutCancel(ctx), w.Name, log); err != nil {
			log.Warn().Err(err).Msg("removing a canary service left over")
		}
		return res, false
	}
	if p.Canary == nil {
		// The policy lost its canary meanwhile: a canary left over goes, and the
		// update is made (or followed) as without one.
		if err := b.dropCanary(context.WithoutCancel(ctx), w.Name, log); err != nil {
			log.Warn().Err(err).Msg("removing a canary service left over")
		}
		return res, false
	}
	if cur != old {
		return res, false
	}
	cs, found, err := b.findCanary(ctx, w.Name)
	switch {
	case err != nil:
		return updater.Result{Outcome: updater.Aborted, Reason: "cannot tell whether a canary runs: " + err.Error()}, true
	case canaryFailed(rec):
		log.Info().Msg("resuming: the canary had failed; removing what is left of it")
		res = updater.Result{Outcome: updater.RolledBack, Reason: "the canary failed before hoist stopped; the service never left " + old}
		if err := b.dropCanary(context.WithoutCancel(ctx), w.Name, log); err != nil {
			res.Outcome, res.Reason = updater.Failed, res.Reason+"; "+err.Error()
		}
		return res, true
	case found && cs.Spec.Labels[LabelCanaryImage] == target:
		log.Info().Str("canary", cs.Spec.Name).Msg("resuming: taking up the canary's hold")
		return b.updateCanary(ctx, w, t, p, j, log), true
	case rec.Phase == updater.PhaseCanary:
		log.Info().Msg("resuming: no canary runs; starting it again")
		return b.updateCanary(ctx, w, t, p, j, log), true
	}
	return res, false
}

// canaryFailed reports whether a record shows its canary failed: the last phase it
// entered before rolling back is the canary's.
func canaryFailed(rec updater.Rollout) bool {
	if rec.Phase != updater.PhaseRollingBack {
		return false
	}
	for i := len(rec.Phases) - 1; i >= 0; i-- {
		if ph := rec.Phases[i].Phase; ph != updater.PhaseRollingBack {
			return ph == updater.PhaseCanary
		}
	}
	return false
}

// canaries lists the canary services there are, by the ID of their service (none when
// the engine does not answer: a canary is then found when its service is resumed).
func (b *Backend) canaries(ctx context.Context) map[string]swarm.Service {
	ctx, cancel := context.WithTimeout(ctx, b.call)
	defer cancel()
	res, err := b.c.ServiceList(ctx, client.ServiceListOptions{Filters: make(client.Filters).Add("label", LabelCanaryOf)})
	if err != nil {
		return nil
	}
	out := map[string]swarm.Service{}
	for _, s := range res.Items {
		out[s.Spec.Labels[LabelCanaryOf]] = s
	}
	return out
}

// canaryEvidence reads the canary service of w, if it has one, for a hoist whose store
// lost the rollout: a record in the canary stage, from the image the service runs to
// the canary's.
func canaryEvidence(w updater.Workload, svc swarm.Service, p updater.Plan, canaries map[string]swarm.Service) (updater.Rollout, bool) {
	cs, found := canaries[svc.ID]
	if !found || cs.Spec.Name != canaryName(svc.Spec.Name) {
		return updater.Rollout{}, false
	}
	to := cs.Spec.Labels[LabelCanaryImage]
	if to == "" || to == specImage(svc.Spec) {
		return updater.Rollout{}, false
	}
	now := time.Now()
	return updater.Rollout{
		Workload: w.Key(), From: specImage(svc.Spec), To: to, Trigger: updater.TriggerEngine,
		Plan: &p, Started: cs.CreatedAt, Phase: updater.PhaseCanary, PhaseAt: now,
	}, true
}
