package swarm

import (
	"context"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/updater"
)

// rollBack returns the service to its old image after hoist judged the update failed,
// and waits for its tasks to run it again. It runs on its own budget, past the
// rollout's deadline; once hoist has been stopping for the grace, the wait is left to
// the next hoist (the rollback request, once sent, is Swarm's to carry out). A rollout
// whose grace ended before it was judged is handed over as it is.
func (r *rollout) rollBack(reason string) (updater.Outcome, string) {
	if r.handOver {
		return updater.HandedOver, reason
	}
	r.log.Warn().Str("reason", reason).Str("back_to", r.old).Msg("rolling back")
	r.journal.Enter(updater.PhaseRollingBack)
	if r.old == "" {
		return updater.Failed, reason + "; not rolled back: the image before the update is not known (the service keeps no previous spec)"
	}
	ctx, cancel := context.WithTimeout(r.work, r.b.rollbackTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	// An engine that does not answer (restarting, its manager not back yet) is asked
	// again until the rollback's budget ends: giving up would leave the failed image.
	prev, outside, err := r.sendBack(ctx)
	for err != nil && ctx.Err() == nil && !cerrdefs.IsNotFound(err) {
		r.log.Warn().Err(err).Msg("rollback not taken by the engine; asking again")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		prev, outside, err = r.sendBack(ctx)
	}
	switch {
	case outside != "":
		return updater.Failed, reason + "; not rolled back: the service was changed outside hoist (its spec now runs " + outside + ")"
	case err != nil:
		return updater.Failed, reason + "; rollback: " + err.Error()
	}
	if err := r.awaitBack(ctx, prev, deadline); err != nil {
		if handedOver(err) {
			return updater.HandedOver, reason + "; rolling back: " + err.Error()
		}
		r.log.Error().Err(err).Msg("rollback did not converge")
		return updater.Failed, reason + "; rollback " + err.Error()
	}
	r.log.Info().Str("image", r.old).Msg("rolled back")
	return updater.RolledBack, reason
}

// sendBack asks Swarm to run the old image again: by its own rollback when the
// service's previous spec holds it, else by an update. outside is the image the spec
// runs when someone changed it outside hoist (nothing is sent then).
func (r *rollout) sendBack(ctx context.Context) (prev *swarm.UpdateStatus, outside string, err error) {
	svc, err := r.b.inspect(ctx, r.id)
	if err != nil {
		return nil, "", err
	}
	switch got := specImage(svc.Spec); {
	case got == r.old:
		// Swarm is rolling back already, or someone put the old image back.
		return nil, "", nil
	case got != r.target:
		return nil, got, nil
	case svc.PreviousSpec != nil && specImage(*svc.PreviousSpec) == r.old:
		prev, err := r.b.requestRollback(ctx, svc, r.target)
		return prev, "", err
	}
	_, _, err = r.b.update(ctx, r.id, "", func(s swarm.Service) (swarm.ServiceSpec, bool) {
		// Should a task of the old image fail, pausing or rolling "back" to the
		// target would leave the service worse off: carry on instead.
		spec := continueOnFailure(s.Spec)
		cs := *spec.TaskTemplate.ContainerSpec
		cs.Image = r.old
		spec.TaskTemplate.ContainerSpec = &cs
		return spec, true
	})
	return nil, "", err
}

// settle waits for Swarm's own rollback to leave the old image running everywhere.
// why is Swarm's message from when it started the rollback. Like rollBack's, the wait
// is handed over once hoist has been stopping for the grace.
func (r *rollout) settle(st *swarm.UpdateStatus, why string) (updater.Outcome, string) {
	r.journal.Enter(updater.PhaseRollingBack)
	ctx, cancel := context.WithTimeout(r.work, r.b.rollbackTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	reason := "Swarm rolled the update back"
	message := why
	if message == "" && st != nil {
		message = st.Message // Swarm's message while the rollback runs
	}
	var since time.Time
	if why != "" {
		reason = why
	}
	if st != nil && st.StartedAt != nil {
		since = *st.StartedAt
	}
	if ts, err := r.b.tasks(ctx, r.id); err == nil {
		if f, ok := failedTask(ts, r.target, since); ok {
			reason += ": " + describe(f)
		}
	}
	if err := r.awaitBack(ctx, nil, deadline); err != nil {
		if handedOver(err) {
			return updater.HandedOver, reason + "; Swarm rolling back: " + err.Error()
		}
		r.log.Error().Err(err).Msg("Swarm's rollback did not converge")
		return updater.Failed, reason + "; rollback " + err.Error()
	}
	r.log.Info().Str("image", r.old).Msg("rolled back by Swarm")
	if ts, err := r.b.tasks(r.work, r.id); err == nil {
		if t, ok := blamesNode(ts, message, r.target); ok {
			r.notTheImage = true
			return updater.RolledBack, reason + nodeNote(t)
		}
	}
	return updater.RolledBack, reason
}
