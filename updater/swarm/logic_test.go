package swarm

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
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
}
