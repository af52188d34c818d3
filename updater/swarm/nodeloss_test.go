package swarm

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// Task histories as the five-node test cluster showed them when a worker lost power
// mid-rollout, and as an image that crashes leaves them.
func TestNodeLoss(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	mk := func(id string, slot int, node, image string, desired, state swarm.TaskState, created, status float64, err string, exit int) swarm.Task {
		tk := task(id, image, desired, state, at(status), exit)
		tk.Slot, tk.NodeID, tk.CreatedAt, tk.Status.Err = slot, node, at(created), err
		return tk
	}
	run, shut, failed := swarm.TaskStateRunning, swarm.TaskStateShutdown, swarm.TaskStateFailed
	const msg = "update rolled back due to failure or early termination of task "

	// Power lost on n5 while Swarm assigned it the new task: the task is shut down
	// without having run; the replacement came 20 s before the node reported.
	assigned := []swarm.Task{
		mk("old5", 2, "n5", "old", shut, failed, 0, 30, "task: non-zero exit (255)", 255),
		mk("new5", 2, "n5", "new", shut, shut, 8, 30, "", 0),
		mk("old4", 1, "n4", "old", run, run, 31, 32, "", 0),
	}
	if tk, ok := blamesNode(assigned, msg+"new5", "new"); !ok || tk.ID != "new5" {
		t.Errorf("a task shut down before it ran, on a lost node: blamed %v (%s)", ok, tk.ID)
	}
	// The new task ran on n5 when it lost power: reported failed (exit 255) when n5 came
	// back, 20 s after Swarm had replaced it.
	ran := []swarm.Task{
		mk("new5", 2, "n5", "new", shut, failed, 0, 30, "task: non-zero exit (255)", 255),
		mk("new5b", 2, "n5", "new", run, run, 10, 31, "", 0),
	}
	if !lostWithNode(ran[0], ran) {
		t.Error("a task Swarm replaced 20 s before it was reported failed is not lost with its node")
	}
	if f, ok := failedTask(ran, "new", t0); ok {
		t.Errorf("the watch counts %s, lost with its node", f.ID)
	}
	if _, ok := blamesNode(ran, msg+"new5", "new"); !ok {
		t.Error("Swarm's rollback over a task lost with its node blames the image")
	}
	// The image crashes: the task fails, then Swarm replaces it.
	crash := []swarm.Task{
		mk("new5", 2, "n5", "new", shut, failed, 0, 6, "task: non-zero exit (4)", 4),
		mk("new5b", 2, "n5", "new", run, swarm.TaskStateStarting, 6.1, 6.2, "", 0),
	}
	if lostWithNode(crash[0], crash) {
		t.Error("a task that crashed and was then replaced counts as lost with its node")
	}
	if _, ok := blamesNode(crash, msg+"new5", "new"); ok {
		t.Error("a crash spares the image")
	}
	if f, ok := failedTask(crash, "new", t0); !ok || f.ID != "new5" {
		t.Errorf("the watch misses the crash (%v, %s)", ok, f.ID)
	}
	// Only the task the message names counts, and only on the target.
	if _, ok := blamesNode(assigned, msg+"old5", "new"); ok {
		t.Error("a task on the old image spares the new one")
	}
	for _, m := range []string{"", "rollback completed", msg, msg + "nosuchtask"} {
		if _, ok := blamesNode(assigned, m, "new"); ok {
			t.Errorf("message %q spares the image", m)
		}
	}
	// The engine lost the container (dockerd restarted on a live node).
	lost := mk("new5", 2, "n5", "new", shut, failed, 0, 6, "No such container: abc", 0)
	if !lostWithNode(lost, []swarm.Task{lost}) {
		t.Error(`"No such container" is not lost with the engine`)
	}
}

func TestNodeNote(t *testing.T) {
	shut := task("abcdefabcdef99", "new", swarm.TaskStateShutdown, swarm.TaskStateShutdown, time.Unix(1000, 0), 0)
	shut.NodeID, shut.Status.Err = "node5node5node5", ""
	if got, want := nodeNote(shut), "; task abcdefabcdef on node node5node5no was shut down before it ran (its node went away, or Swarm moved it), which says nothing of the image"; got != want {
		t.Errorf("nodeNote =\n%q, want\n%q", got, want)
	}
	lost := task("abcdefabcdef99", "new", swarm.TaskStateShutdown, swarm.TaskStateFailed, time.Unix(1000, 0), 255)
	lost.NodeID, lost.Status.Err = "node5", "task: non-zero exit (255)"
	if got, want := nodeNote(lost), "; task abcdefabcdef on node node5 was lost with its node (exited (exit 255) after Swarm had replaced it), which says nothing of the image"; got != want {
		t.Errorf("nodeNote =\n%q, want\n%q", got, want)
	}
}
