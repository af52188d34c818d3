package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/probe"
)

// updateCanary is updateOne with the plan's canary first: n tasks of the service's
// template on the target run in a canary service for the hold while every task of the
// service keeps the old image; a failure ends the rollout there (the canary service is
// removed; nothing else ever ran the target). Once the hold passed, the service is
// updated as usual and the canary service is removed as soon as Swarm took the update.
// A canary service already there for the target (a hoist stopped during the hold) is
// taken up, its hold counted from when its tasks started.
func (b *Backend) updateCanary(ctx context.Context, w updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	if p.Canary == nil {
		return b.updateOne(ctx, w, t, p, j, log)
	}
	note, res, goOn := b.canary(ctx, w, t, p, j, log)
	if !goOn {
		return res
	}
	dropped := false
	drop := func() {
		if !dropped {
			dropped = true
			if err := b.dropCanary(context.WithoutCancel(ctx), w.Name, log); err != nil {
				log.Warn().Err(err).Msg("removing the canary service")
			}
		}
	}
	res = b.updateOne(ctx, w, t, p, func(ph updater.Phase, notes ...string) {
		if ph == updater.PhaseConverging && note != "" {
			notes = append([]string{note}, notes...)
		}
		j.Enter(ph, notes...)
		if ph == updater.PhaseConverging {
			drop() // Swarm took the update: the service's own tasks follow
		}
	}, log)
	drop()
	if note != "" {
		res.Reason = joinReason(note, res.Reason)
	}
	return res
}

func joinReason(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// canary runs the hold. goOn says the rest may follow, with note saying how the canary
// went; otherwise res is how the rollout ended.
func (b *Backend) canary(ctx context.Context, w updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) (note string, res updater.Result, goOn bool) {
	r := b.newRollout(ctx, w, t, p, j, log)
	svc, err := b.inspect(ctx, r.id)
	if err != nil {
		return "", updater.Result{Outcome: updater.Aborted, Reason: err.Error()}, false
	}
	r.id = svc.ID
	if svc.Spec.TaskTemplate.ContainerSpec == nil || specImage(svc.Spec) == r.target ||
		svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil {
		return "", res, true // updateOne says what becomes of it
	}
	r.old = specImage(svc.Spec)
	ts, err := b.tasks(ctx, svc.ID)
	if err != nil {
		return "", updater.Result{Outcome: updater.Aborted, Reason: err.Error()}, false
	}
	total := wanted(svc.Spec, ts)
	n := p.Canary.Count(total)
	if n == 0 {
		return fmt.Sprintf("no canary: the service runs %d task(s)", total), res, true
	}
	r.baseline(svc)
	r.journal.Enter(updater.PhaseCanary, fmt.Sprintf("canary %d/%d on %s, hold %s", n, total, r.target, p.Canary.Hold))
	cs, err := b.ensureCanary(r, svc, uint64(n), t.RegistryAuth)
	if err != nil {
		return "", updater.Result{Outcome: updater.Aborted, Reason: err.Error()}, false
	}
	g, err := newCanaryGate(p.Gate, r.log) // canary_gate.go
	if err != nil {
		return "", r.failCanary(cs, n, total, "", "metric gate: "+err.Error()), false
	}
	ok, why, ran := r.hold(cs.ID, n, p.Canary.Hold, g)
	switch {
	case ok:
		note = fmt.Sprintf("canary %d/%d on %s, held %s, healthy%s → rolling the rest", n, total, b.nodesOf(r.work, ran), p.Canary.Hold, g.note())
		r.log.Info().Msg(note)
		return note, res, true
	case r.handOver:
		why = "hoist stopped while holding the canary"
		if r.progress != "" {
			why += " (" + r.progress + ")"
		}
		return "", updater.Result{Outcome: updater.HandedOver, Reason: why + "; the canary runs on and the next hoist takes up its hold"}, false
	}
	return "", r.failCanary(cs, n, total, b.nodesOf(r.work, ran), why), false
}

// ensureCanary creates the rollout's canary service, or takes up the one a stopped
// hoist left for the same target. One left for another image is removed first.
func (b *Backend) ensureCanary(r *rollout, parent swarm.Service, n uint64, auth string) (swarm.Service, error) {
	cs, found, err := b.findCanary(r.work, parent.Spec.Name)
	if err != nil {
		return cs, err
	}
	if found && cs.Spec.Labels[LabelCanaryImage] == r.target && cs.Spec.Labels[LabelCanaryOf] == parent.ID {
		r.log.Info().Str("canary", cs.Spec.Name).Msg("taking up the canary a previous hoist started")
		return cs, nil
	}
	if found {
		if err := b.dropCanary(r.work, parent.Spec.Name, r.log); err != nil {
			return cs, err
		}
	}
	ctx, cancel := context.WithTimeout(r.work, b.call)
	defer cancel()
	spec := canarySpec(parent, r.target, n)
	created, err := b.c.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec, EncodedRegistryAuth: auth})
	if err != nil {
		return cs, fmt.Errorf("create canary service %s: %w", spec.Name, err)
	}
	r.log.Info().Str("canary", spec.Name).Uint64("tasks", n).Msg("canary started")
	return b.inspect(r.work, created.ID)
}

// hold watches the canary service's tasks until n of them ran for hold: a task that
// stopped (exited, failed its HEALTHCHECK, was rejected), that keeps failing the HTTP
// probe, or a metric gate that crosses its threshold fails it. The hold starts once all
// n run (with a HEALTHCHECK: are healthy). It returns the tasks that ran the canary.
func (r *rollout) hold(canaryID string, n int, hold time.Duration, g *canaryGate) (ok bool, why string, ran []swarm.Task) {
	var since, probed time.Time
	probesOK := r.probe == nil
	for {
		ts, err := r.b.tasks(r.work, canaryID)
		if err == nil {
			if f, bad := failedTask(ts, r.target, time.Time{}); bad {
				return false, describe(f) + r.heldFor(since, hold), []swarm.Task{f}
			}
			ran = runningOn(ts, r.target)
			switch {
			case since.IsZero() && len(ran) >= n:
				for _, t := range ran {
					since = later(since, t.Status.Timestamp)
				}
				r.log.Info().Time("since", since).Dur("hold", hold).Msg("canary running; holding")
			case since.IsZero():
				r.progress = fmt.Sprintf("%d/%d canary task(s) running", len(ran), n)
			}
			if !since.IsZero() && r.probe != nil && time.Since(probed) >= probe.Every {
				probed = time.Now()
				if failed, all := r.probeCanary(canaryID, ts); failed != "" {
					return false, failed + r.heldFor(since, hold), ran
				} else if all {
					probesOK = true
				}
			}
			if !since.IsZero() {
				if failed := g.check(r.work, since.Add(hold)); failed != "" {
					return false, failed + r.heldFor(since, hold), ran
				}
			}
			if !since.IsZero() && time.Since(since) >= hold && probesOK && g.passedSince(since.Add(hold)) {
				return true, "", ran
			}
			if !since.IsZero() {
				r.progress = fmt.Sprintf("canary held %s of %s", time.Since(since).Round(time.Second), hold)
			}
		} else {
			r.log.Warn().Err(err).Msg("watching the canary")
		}
		if !r.wait() {
			return false, r.timeoutReason("holding the canary"), ran
		}
	}
}

// probeCanary probes the canary's running tasks once.
func (r *rollout) probeCanary(canaryID string, ts []swarm.Task) (failed string, allPassed bool) {
	cs, err := r.b.inspect(r.work, canaryID)
	if err != nil {
		return "", false
	}
	return r.probeTasks(cs, ts)
}

// heldFor says how far into the hold a failure came.
func (r *rollout) heldFor(since time.Time, hold time.Duration) string {
	if since.IsZero() {
		return " before the canary ran"
	}
	return fmt.Sprintf(" %s into the canary's hold of %s", time.Since(since).Round(time.Second), hold)
}

// runningOn returns the tasks meant to run that run image.
func runningOn(ts []swarm.Task, image string) []swarm.Task {
	var out []swarm.Task
	for _, t := range ts {
		if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning && taskImage(t) == image {
			out = append(out, t)
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// failCanary ends a rollout whose canary failed: the canary service goes (with it, the
// only tasks that ran the target) and the service, never changed, keeps the old image.
func (r *rollout) failCanary(cs swarm.Service, n, total int, nodes, why string) updater.Result {
	r.log.Warn().Str("reason", why).Msg("canary failed; removing it")
	what := fmt.Sprintf("canary %d/%d", n, total)
	if nodes != "" {
		what += " on " + nodes
	}
	r.journal.Enter(updater.PhaseRollingBack, what+" failed: "+why+" → removing the canary")
	res := updater.Result{Outcome: updater.RolledBack, Logs: r.canaryLogs(cs.ID)}
	res.Reason = fmt.Sprintf("%s failed: %s; the canary was removed and the service's %d task(s) never left %s", what, why, total, r.old)
	if err := r.b.dropCanary(r.work, r.name, r.log); err != nil {
		res.Outcome = updater.Failed
		res.Reason += "; " + err.Error()
	}
	return res
}

// canaryLogs returns the last lines of the canary's failed task, if any.
func (r *rollout) canaryLogs(canaryID string) string {
	saved := r.id
	r.id = canaryID
	defer func() { r.id = saved }()
	return r.failedLogs()
}
