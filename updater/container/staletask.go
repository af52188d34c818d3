package container

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/moby/moby/client"
)

// A start the engine refuses because its runtime still holds a task of the container:
// an engine restart interrupted an earlier start of it after the runtime made the task
// ("task <id>: already exists"). The engine may drop that task once its runtime has
// settled; the start is tried again, waiting on the engine, for a bounded time.

// staleTaskWait bounds how long a start refused for a stale task is tried again.
const staleTaskWait = 60 * time.Second

// staleTaskRetry is the pause between two such tries.
const staleTaskRetry = time.Second

var staleTaskRE = regexp.MustCompile(`task [0-9a-f]{12,64}: already exists`)

// staleTask says whether the engine refused a start because it holds a stale task.
func staleTask(err error) bool {
	return err != nil && staleTaskRE.MatchString(err.Error())
}

// startPastStaleTask starts container id; a start refused for a stale task is tried
// again once the engine answers, every staleTaskRetry, for staleTaskWait at most.
func (b *Backend) startPastStaleTask(ctx context.Context, id string) error {
	_, err := b.c.ContainerStart(ctx, id, client.ContainerStartOptions{})
	if !staleTask(err) {
		return err
	}
	deadline := time.Now().Add(staleTaskWait)
	for tries := 1; staleTask(err); tries++ {
		b.log.Warn().Err(err).Str("container", short(id)).Int("tries", tries).
			Msg("the engine still holds a task of this container from an interrupted start; trying again")
		if time.Now().After(deadline) {
			return errors.Join(err, errors.New("the engine kept the stale task for "+staleTaskWait.String()))
		}
		if err := sleep(ctx, staleTaskRetry); err != nil {
			return err
		}
		if err := b.answering(ctx, b.log); err != nil {
			return err
		}
		_, err = b.c.ContainerStart(ctx, id, client.ContainerStartOptions{})
	}
	if err == nil {
		b.log.Info().Str("container", short(id)).Msg("started once the engine dropped the stale task")
	}
	return err
}
