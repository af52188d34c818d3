package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/wake"
)

// rollout is one service moving to one image.
type rollout struct {
	b    *Backend
	log  zerolog.Logger
	plan updater.Plan

	id, name string
	old      string // image before the update
	target   string // image asked for

	// parent is hoist's context: when it ends, the rollout gets shutdownGrace to end;
	// past it, the rollout is handed over to the next hoist.
	parent context.Context
	// work carries parent's values but never its cancellation: a request is never cut.
	work     context.Context
	start    time.Time
	deadline time.Time
	stopping bool
	// graceEnd is when a stopping hoist stops following the rollout.
	graceEnd time.Time
	// handOver is set once the grace ended before the rollout did.
	handOver bool
	// progress is the last known state, for timeout reasons.
	progress string
	// probe runs the policy's HTTP probe during the watch, when it has one.
	probe *prober
	// probeNote says why the policy's probe is not used, when it is not.
	probeNote string
	// nodeAddrs remembers the addresses of the nodes probed tasks run on.
	nodeAddrs map[string]string
	// journal is told each phase before the rollout acts on it.
	journal updater.Journal
	// notTheImage is set when Swarm rolled back over a task lost with its node.
	notTheImage bool
	// burst is until when the rollout looks every burstEvery: an event about the
	// service woke it, and what follows (a task's state) may lag the event.
	burst time.Time
}

// Update moves each service in ws to t in turn. If one does not succeed, the ones
// already moved are rolled back, so a group ends together on the target or before it.
func (b *Backend) Update(ctx context.Context, ws []updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	res := updater.Result{Outcome: updater.Skipped, Reason: "no service to update", Order: string(order(p))}
	var moved []updater.Workload
	for _, w := range ws {
		r := b.updateCanary(ctx, w, t, p, j, log.With().Str("service", w.Name).Logger()) // canary_hold.go
		switch r.Outcome {
		case updater.Skipped:
			if len(moved) == 0 {
				res = r
			}
			continue
		case updater.Succeeded:
			moved = append(moved, w)
			res = r
			if ctx.Err() != nil && len(moved) < len(ws) {
				// The others are the next hoist's to update (their records say so).
				res.Outcome, res.Reason = updater.HandedOver, "hoist is stopping: the rest of the group is left to the next hoist"
				return res
			}
			continue
		case updater.HandedOver:
			return r
		}
		for _, m := range moved {
			log.Warn().Str("service", m.Name).Msg("rolling back with its group")
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.rollbackTimeout)
			err := b.Rollback(rctx, m)
			cancel()
			if err != nil {
				r.Outcome = updater.Failed
				r.Reason += "; " + err.Error()
			}
		}
		return r
	}
	return res
}

// newRollout prepares the rollout of w to t; its deadline starts now.
func (b *Backend) newRollout(ctx context.Context, w updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) *rollout {
	r := &rollout{
		b: b, log: log, plan: p,
		id: w.ID, name: w.Name, target: t.Image(),
		parent: ctx, work: context.WithoutCancel(ctx), start: time.Now(),
		probe: newProber(p.HTTPProbe), journal: j,
	}
	if r.id == "" {
		r.id = w.Name // the engine takes a service's name where it takes its ID
	}
	r.deadline = r.start.Add(p.TimeoutOrDefault())
	return r
}

func (b *Backend) updateOne(ctx context.Context, w updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	r := b.newRollout(ctx, w, t, p, j, log)
	orderWhy := string(order(p)) + " (from the policy)"
	result := func(o updater.Outcome, reason string) updater.Result {
		return updater.Result{Outcome: o, Reason: reason, Order: orderWhy}
	}
	if err := ctx.Err(); err != nil {
		return result(updater.Aborted, "hoist is stopping: "+err.Error())
	}

	svc, err := b.inspect(ctx, w.ID)
	if err != nil {
		return result(updater.Aborted, err.Error())
	}
	if svc.Spec.TaskTemplate.ContainerSpec == nil {
		return result(updater.Aborted, "service "+w.Name+" runs no container")
	}
	r.old = specImage(svc.Spec)
	if r.old == r.target {
		return result(updater.Skipped, "service already runs "+r.target)
	}
	r.baseline(svc)

	if err := ctx.Err(); err != nil {
		return result(updater.Aborted, "hoist is stopping: "+err.Error())
	}
	// From here on the request must not be cut by a shutdown: Swarm may have accepted
	// an update whose answer never arrived, and would then roll it out unwatched.
	// Once sent, the rollout ends under the shutdown grace period, or is handed over.
	before, sent, err := b.update(r.work, w.ID, t.RegistryAuth, func(s swarm.Service) (swarm.ServiceSpec, bool) {
		if s.Spec.TaskTemplate.ContainerSpec == nil || specImage(s.Spec) == r.target {
			return swarm.ServiceSpec{}, false
		}
		r.old = specImage(s.Spec)
		spec, why := targetSpec(s.Spec, r.target, p)
		orderWhy = why
		return mark(spec, r.target, time.Now()), true
	})
	if err != nil && before.ID != "" {
		// The answer was lost (a timeout, a dropped connection), not necessarily the
		// request: if Swarm took it, the rollout is under way and must be followed.
		if now, ierr := b.inspect(r.work, w.ID); ierr == nil && specImage(now.Spec) == r.target && now.Version.Index > before.Version.Index {
			log.Warn().Err(err).Msg("the update request failed but Swarm accepted it; following it")
			err, sent = nil, true
		}
	}
	switch {
	case err != nil:
		return result(updater.Aborted, err.Error())
	case !sent:
		return result(updater.Skipped, "service already runs "+r.target)
	}
	r.log.Info().Str("from", r.old).Str("to", r.target).Msg("updating")
	r.journal.Enter(updater.PhaseConverging)

	if n, ok := replicas(before.Spec); ok && n == 0 {
		return result(updater.Succeeded, "service has no replicas: only its spec was updated")
	}
	if before.Spec.Mode.ReplicatedJob != nil || before.Spec.Mode.GlobalJob != nil {
		return result(updater.Succeeded, "job service: only its spec was updated")
	}
	res := r.result(r.follow(before.UpdateStatus))
	res.Order = orderWhy
	return res
}

// result is the Result of an outcome, with the failed task's logs when it failed.
func (r *rollout) result(o updater.Outcome, reason string) updater.Result {
	res := updater.Result{Outcome: o, Reason: reason, NotTheImage: r.notTheImage}
	if o != updater.Succeeded && o != updater.HandedOver {
		res.Logs = r.failedLogs()
	}
	return res
}

// follow waits for Swarm's verdict on the update, then watches it or settles the rollback.
func (r *rollout) follow(prev *swarm.UpdateStatus) (updater.Outcome, string) {
	var seen swarm.UpdateState
	var why string // Swarm's reason for rolling back
	for {
		svc, err := r.b.inspect(r.work, r.id)
		if err != nil {
			r.log.Warn().Err(err).Msg("following the update")
		} else if st := svc.UpdateStatus; fresh(st, prev) {
			if st.State == swarm.UpdateStateRollbackStarted && why == "" {
				why = st.Message
			}
			if st.State != seen {
				seen = st.State
				r.log.Info().Str("state", string(st.State)).Str("swarm_message", st.Message).Msg("swarm update state")
			}
			switch st.State {
			case swarm.UpdateStateCompleted:
				at := *st.StartedAt
				if st.CompletedAt != nil {
					at = *st.CompletedAt
				}
				if ok, reason := r.watch(failuresSince(svc.Spec, st), at); !ok {
					return r.rollBack(reason)
				}
				if r.probe != nil {
					return updater.Succeeded, r.probe.skipped
				}
				return updater.Succeeded, r.probeNote
			case swarm.UpdateStatePaused:
				return r.rollBack("Swarm paused the update: " + st.Message)
			case swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
				// settle gets a paused rollback going again.
				return r.settle(st, why)
			}
			r.progress = "Swarm update " + string(st.State)
		}
		if !r.wait() {
			if r.handOver {
				phase := "updating"
				if seen == swarm.UpdateStateRollbackStarted {
					phase = "Swarm rolled back"
				}
				return updater.HandedOver, r.timeoutReason(phase)
			}
			if seen == swarm.UpdateStateRollbackStarted {
				return r.settle(svc.UpdateStatus, why)
			}
			return r.rollBack(r.timeoutReason("updating"))
		}
	}
}

// fresh reports whether st belongs to an update started after prev: right after a
// request Swarm still shows the previous update's status for a while.
func fresh(st, prev *swarm.UpdateStatus) bool {
	if st == nil || st.StartedAt == nil {
		return false
	}
	if prev == nil || prev.StartedAt == nil {
		return true
	}
	return st.StartedAt.After(*prev.StartedAt)
}

// wait sleeps one poll interval and reports whether the rollout may go on. Once hoist
// is stopping, the rollout gets shutdownGrace more at most; when that ends it first,
// handOver is set.
func (r *rollout) wait() bool {
	// The event stream wakes the rollout at once when something happens to the service
	// or one of its tasks: while it is connected, the look is a cross-check.
	every := wake.Every(r.b.poll, r.b.ev.connected.Load())
	if time.Now().Before(r.burst) {
		every = burstEvery
	}
	select {
	case <-r.parent.Done():
		r.noteStop()
		time.Sleep(r.b.poll)
	case <-time.After(every):
	case <-r.b.ev.next(r.id): // an event about the service: look now (events.go)
		r.burst = time.Now().Add(burstFor)
	}
	if time.Now().Before(r.deadline) {
		return true
	}
	r.handOver = r.stopping && !r.graceEnd.After(r.deadline)
	return false
}

func (r *rollout) timeoutReason(phase string) string {
	why := fmt.Sprintf("timed out after %s", time.Since(r.start).Round(time.Second))
	if r.stopping {
		why = "hoist stopped"
	}
	s := fmt.Sprintf("%s while %s", why, phase)
	if r.progress != "" {
		s += " (" + r.progress + ")"
	}
	if r.handOver {
		s += "; Swarm carries on and the next hoist resumes it"
	}
	return s
}
