package swarm

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/updater"
)

// What a hoist without its store reads from Swarm: its own recent update (marker),
// and the digest Swarm rolled back from (task history, PreviousSpec nil as observed).
func TestEvidence(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	good := "reg:5000/app:v1@sha256:aaaa"
	bad := "reg:5000/app:v1@sha256:bbbb"
	other := "reg:5000/other:v1@sha256:cccc"
	at := func(s int) *time.Time { t := now.Add(time.Duration(s) * time.Second); return &t }
	spec := func(image string, marked bool) swarm.ServiceSpec {
		s := swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}}}
		if marked {
			s = mark(s, image, now.Add(-20*time.Second))
		}
		return s
	}
	task := func(image string, state swarm.TaskState, ts int) swarm.Task {
		return swarm.Task{
			Meta:   swarm.Meta{CreatedAt: now.Add(time.Duration(ts-1) * time.Second)},
			Spec:   swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
			Status: swarm.TaskStatus{State: state, Timestamp: now.Add(time.Duration(ts) * time.Second)},
		}
	}
	prev := spec(good, false)
	plan := updater.Plan{Watch: 30 * time.Second}
	cases := []struct {
		name      string
		svc       swarm.Service
		tasks     []swarm.Task
		ok        bool
		phase     updater.Phase
		from, to  string
		startedAt time.Time
	}{
		{name: "hoist's update completed 10 s ago: watched again",
			svc: swarm.Service{Spec: spec(bad, true), PreviousSpec: &prev,
				UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateCompleted, StartedAt: at(-20), CompletedAt: at(-10)}},
			ok: true, phase: updater.PhaseWatching, from: good, to: bad, startedAt: now.Add(-20 * time.Second)},
		{name: "hoist's update still running",
			svc: swarm.Service{Spec: spec(bad, true), PreviousSpec: &prev,
				UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateUpdating, StartedAt: at(-5)}},
			ok: true, phase: updater.PhaseConverging, from: good, to: bad},
		{name: "completed long ago, nothing failed: done",
			svc: swarm.Service{Spec: spec(bad, true), PreviousSpec: &prev,
				UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateCompleted, StartedAt: at(-300), CompletedAt: at(-290)}},
			tasks: []swarm.Task{task(bad, swarm.TaskStateRunning, -289)}},
		{name: "completed long ago, a new task failed within the watch: watched",
			svc: swarm.Service{Spec: spec(bad, true), PreviousSpec: &prev,
				UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateCompleted, StartedAt: at(-300), CompletedAt: at(-290)}},
			tasks: []swarm.Task{task(bad, swarm.TaskStateFailed, -278)},
			ok:    true, phase: updater.PhaseWatching, from: good, to: bad},
		{name: "someone else's update (no marker): not hoist's to judge",
			svc: swarm.Service{Spec: spec(bad, false), PreviousSpec: &prev,
				UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateCompleted, StartedAt: at(-20), CompletedAt: at(-10)}}},
		{name: "Swarm rolled back: the failed digest from the task history",
			svc: swarm.Service{Spec: spec(good, false),
				UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateRollbackCompleted, StartedAt: at(-8), CompletedAt: at(-2)}},
			tasks: []swarm.Task{task(good, swarm.TaskStateRunning, -1), task(bad, swarm.TaskStateFailed, -9),
				task(bad, swarm.TaskStateShutdown, -8), task(other, swarm.TaskStateFailed, -3)},
			ok: true, phase: updater.PhaseRollingBack, from: good, to: bad, startedAt: now.Add(-10 * time.Second)},
		{name: "rolled back by hand, nothing failed: no evidence",
			svc: swarm.Service{Spec: spec(good, false),
				UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateRollbackCompleted, StartedAt: at(-8), CompletedAt: at(-2)}},
			tasks: []swarm.Task{task(good, swarm.TaskStateRunning, -1), task(bad, swarm.TaskStateShutdown, -8)}},
		{name: "never updated", svc: swarm.Service{Spec: spec(good, false)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := evidence(c.svc, c.tasks, plan, now)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, c.ok, r)
			}
			if !ok {
				return
			}
			if r.Phase != c.phase || r.From != c.from || r.To != c.to || r.Plan == nil || r.Plan.Watch != plan.Watch {
				t.Fatalf("got phase %s %s → %s plan %+v; want %s %s → %s", r.Phase, r.From, r.To, r.Plan, c.phase, c.from, c.to)
			}
			if !c.startedAt.IsZero() && !r.Started.Equal(c.startedAt) {
				t.Fatalf("started %s, want %s", r.Started, c.startedAt)
			}
		})
	}
}

// The marker rides in the container labels of the very spec that changes the image,
// without touching the caller's map.
func TestMarker(t *testing.T) {
	labels := map[string]string{"a": "b"}
	spec := swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "x", Labels: labels}}}
	at := time.Date(2026, 12, 2, 10, 0, 0, 5, time.UTC)
	got := mark(spec, "reg/app:v2@sha256:bb", at)
	if _, set := labels[LabelRollout]; set {
		t.Fatal("mark changed the caller's labels")
	}
	img, when, ok := marker(got.TaskTemplate.ContainerSpec)
	if !ok || img != "reg/app:v2@sha256:bb" || !when.Equal(at) || got.TaskTemplate.ContainerSpec.Labels["a"] != "b" {
		t.Fatalf("marker: %q %s %v %v", img, when, ok, got.TaskTemplate.ContainerSpec.Labels)
	}
	if _, _, ok := marker(&swarm.ContainerSpec{Labels: map[string]string{LabelRollout: "garbage"}}); ok {
		t.Fatal("a marker without a time was accepted")
	}
}
