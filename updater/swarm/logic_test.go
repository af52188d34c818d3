package swarm

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/hoist-dev/hoist/updater"
)

func TestFresh(t *testing.T) {
	t0 := time.Unix(1000, 0)
	t1 := t0.Add(time.Second)
	for _, tc := range []struct {
		name     string
		st, prev *swarm.UpdateStatus
		want     bool
	}{
		{"no status yet", nil, nil, false},
		{"first update", &swarm.UpdateStatus{StartedAt: &t1}, nil, true},
		{"previous update's status", &swarm.UpdateStatus{StartedAt: &t0}, &swarm.UpdateStatus{StartedAt: &t0}, false},
		{"new update", &swarm.UpdateStatus{StartedAt: &t1}, &swarm.UpdateStatus{StartedAt: &t0}, true},
	} {
		if got := fresh(tc.st, tc.prev); got != tc.want {
			t.Errorf("%s: fresh = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func task(id, image string, desired, state swarm.TaskState, at time.Time, exit int) swarm.Task {
	return swarm.Task{
		ID:           id,
		Spec:         swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
		DesiredState: desired,
		Status: swarm.TaskStatus{State: state, Timestamp: at, Err: "task: non-zero exit (4)",
			ContainerStatus: &swarm.ContainerStatus{ExitCode: exit}},
	}
}

func TestConverged(t *testing.T) {
	two := uint64(2)
	replicated := swarm.ServiceSpec{Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}}}
	global := swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}}}
	now := time.Now()
	run, shut := swarm.TaskStateRunning, swarm.TaskStateShutdown
	for _, tc := range []struct {
		name  string
		spec  swarm.ServiceSpec
		tasks []swarm.Task
		want  bool
	}{
		{"all new running", replicated, []swarm.Task{task("a", "new", run, run, now, 0), task("b", "new", run, run, now, 0), task("c", "old", shut, shut, now, 0)}, true},
		{"one pending", replicated, []swarm.Task{task("a", "new", run, run, now, 0), task("b", "new", run, swarm.TaskStatePending, now, 0)}, false},
		{"old still wanted", replicated, []swarm.Task{task("a", "new", run, run, now, 0), task("b", "old", run, run, now, 0)}, false},
		{"one missing", replicated, []swarm.Task{task("a", "new", run, run, now, 0)}, false},
		{"global, every node", global, []swarm.Task{task("a", "new", run, run, now, 0)}, true},
		{"global, one starting", global, []swarm.Task{task("a", "new", run, run, now, 0), task("b", "new", run, swarm.TaskStateStarting, now, 0)}, false},
	} {
		if got := converged(tc.spec, tc.tasks, "new").done(); got != tc.want {
			t.Errorf("%s: converged = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFailedTask(t *testing.T) {
	done := time.Unix(1000, 0)
	before, after := done.Add(-time.Second), done.Add(9*time.Second)
	tasks := []swarm.Task{
		task("tolerated-during-update", "new", swarm.TaskStateShutdown, swarm.TaskStateFailed, before, 3),
		task("replaced-old", "old", swarm.TaskStateShutdown, swarm.TaskStateFailed, after, 1),
		task("crashed-late-abcdefghijkl", "new", swarm.TaskStateShutdown, swarm.TaskStateFailed, after, 4),
		task("replacement", "new", swarm.TaskStateRunning, swarm.TaskStateRunning, after, 0),
	}
	f, ok := failedTask(tasks, "new", done)
	if !ok || f.ID != "crashed-late-abcdefghijkl" {
		t.Fatalf("failedTask = %q, %v", f.ID, ok)
	}
	if got, want := describe(f), "task crashed-late exited (exit 4)"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	if _, ok := failedTask(tasks[:2], "new", done); ok {
		t.Error("a failure during the update counted after it")
	}
	lost := task("lost-with-engine", "new", swarm.TaskStateShutdown, swarm.TaskStateFailed, after, 0)
	lost.Status.Err = "No such container: web.1.lost"
	if f, ok := failedTask([]swarm.Task{lost, tasks[3]}, "new", done); ok {
		t.Errorf("a task the engine lost on restart counted as the image's failure: %s", f.ID)
	}
}

func TestTargetSpec(t *testing.T) {
	two := uint64(2)
	base := func(edit func(*swarm.ServiceSpec)) swarm.ServiceSpec {
		s := swarm.ServiceSpec{
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "old"}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}},
		}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	own := func(s *swarm.ServiceSpec) {
		s.UpdateConfig = &swarm.UpdateConfig{Parallelism: 2, Delay: 10 * time.Second, Order: swarm.UpdateOrderStopFirst, Monitor: 7 * time.Second, FailureAction: swarm.UpdateFailureActionPause, MaxFailureRatio: 0.5}
	}
	hostPort := func(s *swarm.ServiceSpec) {
		s.EndpointSpec = &swarm.EndpointSpec{Ports: []swarm.PortConfig{{TargetPort: 80, PublishedPort: 8080, PublishMode: swarm.PortConfigPublishModeHost}}}
	}
	perNode := func(s *swarm.ServiceSpec) { s.TaskTemplate.Placement = &swarm.Placement{MaxReplicas: 1} }
	plan := updater.Plan{Parallelism: 1, StartFirst: true, Monitor: 3 * time.Second}
	with := func(p updater.Plan, f updater.PlanFields) updater.Plan { p.Written = f; return p }
	for _, tc := range []struct {
		name    string
		spec    swarm.ServiceSpec
		plan    updater.Plan
		want    swarm.UpdateConfig
		wantWhy string
	}{
		{"no config of its own: hoist's defaults", base(nil), plan,
			swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst, Monitor: 3 * time.Second}, "start-first (hoist's default)"},
		{"host-mode port: stop-first", base(hostPort), plan,
			swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStopFirst, Monitor: 3 * time.Second}, "stop-first (the service publishes a port in host mode"},
		{"tasks limited per node: stop-first", base(perNode), plan,
			swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStopFirst, Monitor: 3 * time.Second}, "stop-first (the service allows 1 task(s) per node"},
		{"policy order wins over a per-node limit", base(perNode), with(plan, updater.FieldOrder),
			swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst, Monitor: 3 * time.Second}, "start-first (from the policy)"},
		{"policy order wins over a host-mode port", base(hostPort), with(plan, updater.FieldOrder),
			swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst, Monitor: 3 * time.Second}, "start-first (from the policy)"},
		{"its own config, policy writes monitor only", base(own), with(plan, updater.FieldMonitor),
			swarm.UpdateConfig{Parallelism: 2, Delay: 10 * time.Second, Order: swarm.UpdateOrderStopFirst, Monitor: 3 * time.Second, MaxFailureRatio: 0.5}, "stop-first (the service's own update config)"},
		{"its own config, policy writes everything", base(own), with(plan, updater.AllFields),
			swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst, Monitor: 3 * time.Second}, "start-first (from the policy)"},
	} {
		got, why := targetSpec(tc.spec, "new", tc.plan)
		tc.want.FailureAction = swarm.UpdateFailureActionRollback
		if got.TaskTemplate.ContainerSpec.Image != "new" || tc.spec.TaskTemplate.ContainerSpec.Image != "old" {
			t.Errorf("%s: image %s (input now %s), want new (input untouched)", tc.name, got.TaskTemplate.ContainerSpec.Image, tc.spec.TaskTemplate.ContainerSpec.Image)
		}
		if *got.UpdateConfig != tc.want {
			t.Errorf("%s: update config %+v, want %+v", tc.name, *got.UpdateConfig, tc.want)
		}
		if !strings.HasPrefix(why, tc.wantWhy) {
			t.Errorf("%s: order %q, want %q", tc.name, why, tc.wantWhy)
		}
		rc := got.RollbackConfig
		if rc == nil || rc.FailureAction != swarm.UpdateFailureActionContinue || rc.Order != tc.want.Order || rc.Parallelism != tc.want.Parallelism {
			t.Errorf("%s: rollback config %+v, want the update's order and parallelism, failure action continue", tc.name, rc)
		}
	}

	// A rollback config of its own is kept, but never pauses.
	s := base(own)
	s.RollbackConfig = &swarm.UpdateConfig{Parallelism: 3, FailureAction: swarm.UpdateFailureActionPause}
	got, _ := targetSpec(s, "new", plan)
	if rc := got.RollbackConfig; rc.Parallelism != 3 || rc.FailureAction != swarm.UpdateFailureActionContinue {
		t.Errorf("own rollback config: %+v, want parallelism 3, failure action continue", rc)
	}
	if s.RollbackConfig.FailureAction != swarm.UpdateFailureActionPause {
		t.Error("targetSpec changed its input's rollback config")
	}
}

// A task that stops just as Swarm completes the update is past Swarm's judgement;
// the watch counts it from the update's start, unless a failure ratio is tolerated.
func TestFailuresSince(t *testing.T) {
	t0 := time.Unix(1000, 0)
	done := t0.Add(10 * time.Second)
	st := &swarm.UpdateStatus{State: swarm.UpdateStateCompleted, StartedAt: &t0, CompletedAt: &done}
	run, failed := swarm.TaskStateRunning, swarm.TaskStateFailed
	tasks := []swarm.Task{
		task("earlier", "new", swarm.TaskStateShutdown, failed, t0.Add(-time.Minute), 4), // an earlier update to the same image
		task("racing", "new", run, failed, done.Add(-500*time.Millisecond), 4),
		task("fine", "new", run, run, t0.Add(time.Second), 0),
	}
	f, ok := failedTask(tasks, "new", failuresSince(swarm.ServiceSpec{}, st))
	if !ok || f.ID != "racing" {
		t.Fatalf("without a failure ratio: found %q, %v; want the task that failed before completion", f.ID, ok)
	}
	if got := when(f.Status.Timestamp, done); !strings.Contains(got, "while Swarm was still updating the service, 1s before it completed") {
		t.Errorf("when = %q", got)
	}
	if got := when(done.Add(3*time.Second), done); got != "3s after the update completed" {
		t.Errorf("when = %q", got)
	}
	if f, ok := failedTask(tasks, "new", failuresSince(swarm.ServiceSpec{UpdateConfig: &swarm.UpdateConfig{MaxFailureRatio: 0.5}}, st)); ok {
		t.Errorf("with a tolerated failure ratio, %s counted: Swarm judged it", f.ID)
	}
	if got := failuresSince(swarm.ServiceSpec{}, nil); !got.IsZero() {
		t.Errorf("no status: since %v", got)
	}
}
