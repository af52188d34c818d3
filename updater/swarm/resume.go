package swarm

import (
	"context"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

var _ updater.Resumer = (*Backend)(nil)

// Resume takes over a rollout a previous hoist left unfinished, from what Swarm shows:
//
//   - the spec runs the target: Swarm's update is followed to its end as usual
//     (updating), a paused update is rolled back, and a completed one is watched again
//     — the watch restarts in full once the tasks run the target, and a new task that
//     failed while hoist was down counts against it;
//   - the spec runs the previous image and Swarm shows it was updated (a rollback
//     status, or tasks on the target): Swarm rolled back; hoist sees it through;
//   - the spec runs the previous image and nothing shows the update ever arrived
//     (hoist stopped between its record and its request): the update is made now, once;
//   - anything else: someone changed the service meanwhile; hoist leaves it alone.
func (b *Backend) Resume(ctx context.Context, w updater.Workload, rec updater.Rollout, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	log = log.With().Str("service", w.Name).Logger()
	r := b.newRollout(ctx, w, t, p, j, log)
	r.old = rec.From
	svc, err := b.inspectPatiently(r)
	switch {
	case err != nil && r.handOver:
		return updater.Result{Outcome: updater.HandedOver, Reason: "hoist is stopping and the engine did not answer: " + err.Error()}
	case err != nil:
		return updater.Result{Outcome: updater.Aborted, Reason: "the engine did not answer: " + err.Error()}
	}
	r.id = svc.ID
	if svc.Spec.TaskTemplate.ContainerSpec == nil {
		return updater.Result{Outcome: updater.Aborted, Reason: "service " + w.Name + " runs no container"}
	}
	if r.old == "" && svc.PreviousSpec != nil && svc.PreviousSpec.TaskTemplate.ContainerSpec != nil {
		r.old = specImage(*svc.PreviousSpec)
	}
	if res, handled := b.resumeCanary(ctx, w, rec, t, p, j, log, svc, r.old); handled { // canary_resume.go
		return res
	}
	st := svc.UpdateStatus
	cur := specImage(svc.Spec)
	sent := cur == r.target
	if cur == r.old && r.old != r.target {
		if sent, err = updated(svc, r, rec.Started); err != nil {
			return updater.Result{Outcome: updater.Aborted, Reason: "cannot tell whether the update reached Swarm: " + err.Error()}
		}
	}
	switch {
	case cur == r.target && (st == nil || st.StartedAt == nil):
		// Never updated by Swarm (created on the target): watch it as it is.
		log.Info().Msg("resuming: the service runs the target; watching it")
		now := time.Now()
		ok, reason := r.watch(now, now)
		if !ok {
			return r.result(r.rollBack(reason))
		}
		return updater.Result{Outcome: updater.Succeeded, Reason: r.probeNote}
	case cur == r.target:
		log.Info().Str("state", string(st.State)).Msg("resuming: following Swarm's update")
		return r.result(r.follow(nil))
	case cur == r.old && sent:
		log.Info().Str("state", stateOf(st)).Msg("resuming: Swarm rolled the update back; seeing it through")
		return r.result(r.settle(st, ""))
	case cur == r.old:
		log.Info().Msg("resuming: the update never reached Swarm; making it now")
		return b.updateOne(ctx, w, t, p, j, log)
	default:
		return updater.Result{Outcome: updater.Aborted, Reason: "the service was changed outside hoist while hoist was down (its spec now runs " + cur + "); left as it is"}
	}
}

// inspectPatiently inspects the rollout's service, retrying while the engine does not
// answer (dockerd restarting), until the rollout's deadline.
func (b *Backend) inspectPatiently(r *rollout) (swarm.Service, error) {
	for {
		svc, err := b.inspect(r.work, r.id)
		if err == nil || cerrdefs.IsNotFound(err) {
			return svc, err
		}
		r.log.Warn().Err(err).Msg("resuming: the engine does not answer yet")
		if !r.wait() {
			return svc, err
		}
	}
}

// updated reports whether Swarm shows an update to the rollout's target: a task that
// ran it, or a rollback that started after the rollout did (engine and hoist clocks
// may differ by a little).
func updated(svc swarm.Service, r *rollout, started time.Time) (bool, error) {
	if st := svc.UpdateStatus; st != nil && st.StartedAt != nil && strings.HasPrefix(string(st.State), "rollback_") &&
		st.StartedAt.After(started.Add(-clockSkew)) {
		return true, nil
	}
	ts, err := r.b.tasks(r.work, svc.ID)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		if taskImage(t) == r.target {
			return true, nil
		}
	}
	return false, nil
}

// clockSkew is how far apart hoist's clock and a manager's may be.
const clockSkew = 2 * time.Second

func stateOf(st *swarm.UpdateStatus) string {
	if st == nil {
		return ""
	}
	return string(st.State)
}
