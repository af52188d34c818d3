package swarm

import (
	"context"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// Unfinished reads Swarm alone for rollouts the store does not know: a hoist started
// with an empty data_dir must neither miss a failing update it made a moment ago nor
// roll out again a digest Swarm rolled back from. What it reads is in evidence.
func (b *Backend) Unfinished(ctx context.Context, ws []updater.Workload, known func(string) bool, plans func(updater.Workload) (updater.Plan, bool)) []updater.Rollout {
	var out []updater.Rollout
	canaries := b.canaries(ctx) // canary_resume.go
	for _, w := range ws {
		if w.Kind != policy.Service || known(w.Key()) {
			continue
		}
		p, ok := plans(w)
		if !ok {
			continue
		}
		svc, err := b.inspect(ctx, w.ID)
		if err != nil || svc.Spec.TaskTemplate.ContainerSpec == nil {
			continue
		}
		if r, ok := canaryEvidence(w, svc, p, canaries); ok { // canary_resume.go
			out = append(out, r)
			continue
		}
		if svc.UpdateStatus == nil {
			continue
		}
		ts, err := b.tasks(ctx, w.ID)
		if err != nil {
			continue
		}
		if r, ok := evidence(svc, ts, p, time.Now()); ok {
			r.Workload = w.Key()
			out = append(out, r)
		}
	}
	return out
}

// evidence tells from a service and its task history whether a rollout of it is
// unfinished, as a record for Resume:
//
//   - hoist's marker names the image the spec runs, and Swarm is still updating, or
//     paused, or completed less than the plan's watch ago (or a new task failed within
//     the watch): the rollout is taken up where it is (converging or watching);
//   - Swarm rolled back (rollback_started, _paused or _completed): the newest task that
//     failed on another pinned digest of the same repository is the image rolled back
//     from. After Swarm's own rollback PreviousSpec is empty and the task history (5
//     tasks per slot by default) is all that is left of it.
func evidence(svc swarm.Service, ts []swarm.Task, p updater.Plan, now time.Time) (updater.Rollout, bool) {
	st := svc.UpdateStatus
	cur := specImage(svc.Spec)
	r := updater.Rollout{Trigger: updater.TriggerEngine, Plan: &p, Started: now, PhaseAt: now}
	if st == nil || st.StartedAt == nil {
		return r, false
	}
	if strings.HasPrefix(string(st.State), "rollback_") {
		bad, ok := rolledBackFrom(ts, cur)
		if !ok {
			return r, false
		}
		r.From, r.To, r.Phase = cur, taskImage(bad), updater.PhaseRollingBack
		r.Started = bad.CreatedAt
		return r, true
	}
	image, at, ok := marker(svc.Spec.TaskTemplate.ContainerSpec)
	if !ok || image != cur {
		return r, false
	}
	r.To, r.Started = cur, at
	if svc.PreviousSpec != nil && svc.PreviousSpec.TaskTemplate.ContainerSpec != nil {
		r.From = specImage(*svc.PreviousSpec)
	}
	switch st.State {
	case swarm.UpdateStateUpdating, swarm.UpdateStatePaused:
		r.Phase = updater.PhaseConverging
		return r, true
	case swarm.UpdateStateCompleted:
		done := *st.StartedAt
		if st.CompletedAt != nil {
			done = *st.CompletedAt
		}
		watchEnd := done.Add(p.Watch)
		f, failed := failedTask(ts, cur, failuresSince(svc.Spec, st))
		if now.Before(watchEnd) || (failed && f.Status.Timestamp.Before(watchEnd)) {
			r.Phase = updater.PhaseWatching
			return r, true
		}
	}
	return r, false
}

// rolledBackFrom finds the newest task that failed on a pinned image of cur's
// repository other than cur.
func rolledBackFrom(ts []swarm.Task, cur string) (swarm.Task, bool) {
	repo := repoOf(cur)
	var found swarm.Task
	ok := false
	for _, t := range ts {
		img := taskImage(t)
		if _, err := registry.ParsePinned(img); err != nil || img == cur || repoOf(img) != repo || lostWithNode(t, ts) {
			continue
		}
		switch t.Status.State {
		case swarm.TaskStateFailed, swarm.TaskStateRejected:
		default:
			if _, _, marked := marker(t.Spec.ContainerSpec); !marked || t.Status.Err == "" {
				continue
			}
		}
		if !ok || t.CreatedAt.After(found.CreatedAt) {
			found, ok = t, true
		}
	}
	return found, ok
}

// repoOf is an image string without its digest and tag: "reg:5000/app:v1@sha256:…" →
// "reg:5000/app".
func repoOf(image string) string {
	if p, err := registry.ParsePinned(image); err == nil {
		image = p.Name()
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}
