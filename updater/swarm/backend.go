package swarm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// ErrNoPrevious is returned by Rollback when the service keeps no previous spec.
var ErrNoPrevious = errors.New("service has no previous spec")

// Backend runs rollouts of Swarm services through one engine client.
type Backend struct {
	c *client.Client

	// poll is how often a rollout looks at the service and its tasks.
	poll time.Duration
	// call bounds one engine request.
	call time.Duration
	// shutdownGrace is how long a rollout may still run once hoist is stopping; past
	// it the rollout is handed over to the next hoist (Swarm carries on by itself).
	// It stays under Docker's and Swarm's default stop timeout (10 s), so the hand-over
	// is made before a SIGKILL.
	shutdownGrace time.Duration
	// rollbackTimeout bounds a rollback, which runs after the rollout's own deadline.
	rollbackTimeout time.Duration
	// ev follows the engine's events: the index of the services, and what wakes a
	// rollout before its next poll (events.go).
	ev stream
}

var _ updater.Backend = (*Backend)(nil)

// New returns a Backend for the engine behind c, which must be a Swarm manager.
func New(c *client.Client) *Backend {
	return &Backend{
		c:               c,
		poll:            200 * time.Millisecond,
		call:            30 * time.Second,
		shutdownGrace:   8 * time.Second,
		rollbackTimeout: 3 * time.Minute,
	}
}

// Kind is policy.Service.
func (b *Backend) Kind() policy.Kind { return policy.Service }

// Finish does nothing: Swarm keeps the previous spec itself.
func (b *Backend) Finish(ctx context.Context, w updater.Workload) error { return nil }

// Rollback asks Swarm for the service's previous spec and waits until its tasks run it.
// Without a deadline on ctx it gives up after the backend's rollback timeout.
func (b *Backend) Rollback(ctx context.Context, w updater.Workload) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.rollbackTimeout)
		defer cancel()
	}
	svc, err := b.inspect(ctx, w.ID)
	if err != nil {
		return fmt.Errorf("roll back service %s: %w", w.Name, err)
	}
	if svc.PreviousSpec == nil {
		return fmt.Errorf("roll back service %s: %w", w.Name, ErrNoPrevious)
	}
	want := specImage(*svc.PreviousSpec)
	prev, err := b.requestRollback(ctx, svc, specImage(svc.Spec))
	if err != nil {
		return fmt.Errorf("roll back service %s: %w", w.Name, err)
	}
	deadline, _ := ctx.Deadline()
	if err := b.awaitConverged(ctx, svc.ID, want, prev, deadline); err != nil {
		return fmt.Errorf("roll back service %s to %s: %w", w.Name, want, err)
	}
	return nil
}
