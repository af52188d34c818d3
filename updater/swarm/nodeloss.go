package swarm

import (
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// A node that loses power or its network takes its tasks with it, and Swarm counts them
// against the update: a task assigned to the node ends "shutdown" without having run,
// and one that ran is reported failed (exit 255, or "No such container") only when the
// node comes back. Neither says anything of the image.

// replacedBefore is how much sooner than a task's failure the task replacing it must
// have been created for the failure to be the node's: the orchestrator replaces the
// tasks of a node once it is marked down, long before the node reports them, whereas a
// task that fails on its own is replaced after it failed. The margin covers clock skew
// between the node and the managers.
const replacedBefore = 2 * time.Second

// lostWithEngine reports whether a task failed because its node's engine lost the
// container (dockerd restarted, the node rebooted), not because of its image: Swarm
// replaces such a task, and the replacement is judged in its turn. The agent says so
// only in its error text.
func lostWithEngine(t swarm.Task) bool {
	return strings.HasPrefix(t.Status.Err, "No such container")
}

// lostWithNode reports whether task t, failed, failed because its node was lost: its
// engine no longer had the container, or Swarm had replaced it before it was reported
// failed (its node had been marked down meanwhile).
func lostWithNode(t swarm.Task, all []swarm.Task) bool {
	if lostWithEngine(t) {
		return true
	}
	if t.DesiredState == swarm.TaskStateRunning {
		return false
	}
	for _, u := range all {
		sameSlot := t.Slot != 0 && u.Slot == t.Slot || t.Slot == 0 && u.NodeID == t.NodeID
		if u.ID != t.ID && sameSlot && u.CreatedAt.After(t.CreatedAt) && u.CreatedAt.Add(replacedBefore).Before(t.Status.Timestamp) {
			return true
		}
	}
	return false
}

// namedTask returns the task a Swarm rollback message names ("update rolled back due to
// failure or early termination of task <id>").
func namedTask(ts []swarm.Task, message string) (swarm.Task, bool) {
	i := strings.LastIndex(message, "task ")
	if i < 0 {
		return swarm.Task{}, false
	}
	id := strings.TrimSpace(message[i+len("task "):])
	for _, t := range ts {
		if id != "" && t.ID == id {
			return t, true
		}
	}
	return swarm.Task{}, false
}

// blamesNode reports whether the task Swarm rolled back over ended for its node's sake,
// not its image's: it was shut down without failing, or it was lost with its node. Only
// this positive evidence spares a digest the quarantine.
func blamesNode(ts []swarm.Task, message, target string) (swarm.Task, bool) {
	t, ok := namedTask(ts, message)
	if !ok || taskImage(t) != target {
		return t, false
	}
	switch t.Status.State {
	case swarm.TaskStateShutdown, swarm.TaskStateRemove:
		return t, t.Status.Err == "" && (t.Status.ContainerStatus == nil || t.Status.ContainerStatus.ExitCode == 0)
	case swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateOrphaned:
		return t, lostWithNode(t, ts)
	}
	return t, false
}

// nodeNote says why a rollback Swarm made over task t spares the digest.
func nodeNote(t swarm.Task) string {
	node := t.NodeID
	if len(node) > 12 {
		node = node[:12]
	}
	id := t.ID
	if len(id) > 12 {
		id = id[:12]
	}
	how := "was shut down before it ran (its node went away, or Swarm moved it)"
	if t.Status.State != swarm.TaskStateShutdown && t.Status.State != swarm.TaskStateRemove {
		how = "was lost with its node (" + describe(t) + " after Swarm had replaced it)"
		how = strings.Replace(how, "task "+id+" ", "", 1)
	}
	return "; task " + id + " on node " + node + " " + how + ", which says nothing of the image"
}
