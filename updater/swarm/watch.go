package swarm

import (
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/internal/probe"
)

// failedTask finds a task on image that stopped on its own after since (engine time):
// it exited, failed its health check, or was rejected. Tasks Swarm shut down on
// purpose (replaced, scaled away) and tasks lost with their node do not count.
func failedTask(tasks []swarm.Task, image string, since time.Time) (swarm.Task, bool) {
	var found swarm.Task
	ok := false
	for _, t := range tasks {
		if taskImage(t) != image || !t.Status.Timestamp.After(since) || lostWithNode(t, tasks) {
			continue
		}
		switch t.Status.State {
		case swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateComplete, swarm.TaskStateOrphaned:
			if !ok || t.Status.Timestamp.Before(found.Status.Timestamp) {
				found, ok = t, true
			}
		}
	}
	return found, ok
}

// describe says what became of a task: "task abc123def456 exited (exit 4)".
func describe(t swarm.Task) string {
	id := t.ID
	if len(id) > 12 {
		id = id[:12]
	}
	code := 0
	if cs := t.Status.ContainerStatus; cs != nil {
		code = cs.ExitCode
	}
	switch {
	case t.Status.State == swarm.TaskStateRejected:
		return fmt.Sprintf("task %s was rejected (%s)", id, t.Status.Err)
	case t.Status.State == swarm.TaskStateComplete, code != 0:
		// Swarm's error only repeats the exit code, unless it killed the task itself.
		if e := t.Status.Err; e != "" && e != fmt.Sprintf("task: non-zero exit (%d)", code) {
			return fmt.Sprintf("task %s exited (exit %d: %s)", id, code, e)
		}
		return fmt.Sprintf("task %s exited (exit %d)", id, code)
	case t.Status.Err != "":
		return fmt.Sprintf("task %s failed (%s)", id, t.Status.Err)
	default:
		return fmt.Sprintf("task %s ended %s", id, t.Status.State)
	}
}

// failuresSince is the engine time from which a task on the target that stops on its
// own counts against it. Swarm judges each task only within its monitor window: a task
// that fails later, while Swarm still replaces the others, is seen by nobody but hoist.
// Without a tolerated failure ratio in the service's update config every such failure
// counts, from the update's start; with one, Swarm's verdict stands for what happened
// until it completed.
func failuresSince(spec swarm.ServiceSpec, st *swarm.UpdateStatus) time.Time {
	if st == nil || st.StartedAt == nil {
		return time.Time{}
	}
	if uc := spec.UpdateConfig; uc == nil || uc.MaxFailureRatio == 0 || st.CompletedAt == nil {
		return *st.StartedAt
	}
	return *st.CompletedAt
}

// when says when a task failed, next to the completion of the update.
func when(failed, completedAt time.Time) string {
	if failed.Before(completedAt) {
		return fmt.Sprintf("while Swarm was still updating the service, %s before it completed", completedAt.Sub(failed).Round(time.Second))
	}
	return fmt.Sprintf("%s after the update completed", failed.Sub(completedAt).Round(time.Second))
}

// watch follows a service Swarm reported completed at completedAt: it waits until
// every wanted task runs the target, then keeps looking for plan.Watch. A new task that
// stopped on its own since since fails the rollout, and so does one that keeps failing
// the policy's HTTP probe; with a probe, the watch ends only once every reachable task
// answered.
func (r *rollout) watch(since, completedAt time.Time) (ok bool, reason string) {
	var watchEnd, probed time.Time
	probesOK := true
	for {
		svc, err := r.b.inspect(r.work, r.id)
		if err == nil {
			if got := specImage(svc.Spec); got != r.target {
				return false, "the service was changed outside hoist during the watch (its spec now runs " + got + ")"
			}
			var ts []swarm.Task
			if ts, err = r.b.tasks(r.work, r.id); err == nil {
				f, bad := failedTask(ts, r.target, since)
				if !bad { // the event stream may know before Swarm does (deaths.go)
					f, bad = r.b.ev.crashed(r.id, ts, r.target, since)
				}
				if bad {
					return false, describe(f) + " " + when(f.Status.Timestamp, completedAt)
				}
				c := converged(svc.Spec, ts, r.target)
				r.progress = c.String()
				if c.done() && r.probe != nil && time.Since(probed) >= probe.Every {
					probed = time.Now()
					var failed string
					if failed, probesOK = r.probeTasks(svc, ts); failed != "" {
						return false, failed + " after the update completed"
					}
				}
				switch {
				case watchEnd.IsZero() && c.done():
					r.journal.Enter(updater.PhaseWatching)
					watchEnd = time.Now().Add(r.plan.Watch)
					r.log.Info().Str("tasks", c.String()).Dur("watch", r.plan.Watch).Msg("converged; watching the new tasks")
				case !watchEnd.IsZero() && time.Now().After(watchEnd) && c.done() && probesOK:
					r.log.Info().Str("tasks", c.String()).Msg("watch passed")
					return true, ""
				}
			}
		}
		if err != nil {
			r.log.Warn().Err(err).Msg("watching the service")
		}
		if !r.wait() {
			return false, r.timeoutReason("watching")
		}
	}
}

// probeTasks runs one round of the HTTP probe. It returns why the rollout fails, if it
// does, and whether every reachable task has answered.
func (r *rollout) probeTasks(svc swarm.Service, ts []swarm.Task) (failed string, allPassed bool) {
	addrs := r.probeAddrs(svc, ts, r.target)
	if len(addrs) == 0 {
		if r.probe.skipped == "" {
			r.probe.skipped = fmt.Sprintf("HTTP probe not run: no new task is reachable on port %d from this node (publish the port in host mode, or in ingress mode)", r.probe.p.Port)
			r.log.Warn().Msg(r.probe.skipped)
		}
		return "", true
	}
	failed, allPassed = r.probe.check(r.work, addrs)
	if !allPassed {
		r.progress += "; " + r.probe.pending(addrs)
	}
	return failed, allPassed
}
