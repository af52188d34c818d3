package swarm

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// logTail is how many lines of a failed task's output a result keeps.
const logTail = "20"

// failedLogs returns the last lines of the first new task that failed, if any.
func (r *rollout) failedLogs() string {
	ctx, cancel := context.WithTimeout(r.work, 5*time.Second)
	defer cancel()
	ts, err := r.b.tasks(ctx, r.id)
	if err != nil {
		return ""
	}
	f, ok := failedTask(ts, r.target, time.Time{})
	if !ok {
		return ""
	}
	rc, err := r.b.c.TaskLogs(ctx, f.ID, client.TaskLogsOptions{ShowStdout: true, ShowStderr: true, Tail: logTail})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, io.LimitReader(rc, 64<<10)); err != nil && out.Len() == 0 {
		return ""
	}
	return out.String()
}
