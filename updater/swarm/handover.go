package swarm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// errHandOver ends the wait of a rollout that a stopping hoist leaves to the next one.
var errHandOver = errors.New("hoist is stopping: the rollout is left to the next hoist")

// noteStop starts the shutdown grace the first time it sees hoist stopping: the
// rollout's deadline moves to the grace's end, if that is sooner.
func (r *rollout) noteStop() {
	if r.stopping {
		return
	}
	r.stopping = true
	r.graceEnd = time.Now().Add(r.b.shutdownGrace)
	if r.graceEnd.Before(r.deadline) {
		r.deadline = r.graceEnd
	}
	r.log.Warn().Time("deadline", r.deadline).Msg("hoist is stopping: the rollout may end until the deadline; past it, Swarm carries on and the next hoist resumes it")
}

// graceBound returns ctx, cancelled with errHandOver once hoist has been stopping for
// the shutdown grace: for waiting on a rollback, which otherwise runs on its own budget.
// Only waits may use it; requests use ctx, so that none is cut half-way.
func (r *rollout) graceBound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	end, grace := r.graceEnd, r.b.shutdownGrace
	stop := context.AfterFunc(r.parent, func() {
		if end.IsZero() {
			end = time.Now().Add(grace)
		}
		t := time.NewTimer(time.Until(end))
		defer t.Stop()
		select {
		case <-t.C:
			cancel(errHandOver)
		case <-ctx.Done():
		}
	})
	return ctx, func() { stop(); cancel(nil) }
}

// awaitBack waits for the service to run the old image again, until the grace of a
// stopping hoist ends: then it returns an error that handedOver recognises.
func (r *rollout) awaitBack(ctx context.Context, prev *swarm.UpdateStatus, deadline time.Time) error {
	gctx, done := r.graceBound(ctx)
	defer done()
	err := r.b.awaitConverged(gctx, r.id, r.old, prev, deadline)
	if err != nil && errors.Is(context.Cause(gctx), errHandOver) {
		r.handOver = true
		return fmt.Errorf("%w (%v)", errHandOver, err)
	}
	return err
}

// handedOver reports whether err says the rollout was left to the next hoist.
func handedOver(err error) bool { return errors.Is(err, errHandOver) }
