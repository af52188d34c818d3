package api

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// memBackend is an engine kept in memory: a few workloads and what manual actions did
// to them. The API tests use it to reach the answers of a manual action (done, busy,
// nothing kept); the real engine's rollbacks and finishes are tested in
// updater/swarm, updater/container and cmd/hoist's e2e tests.
type memBackend struct {
	kind policy.Kind
	mu   sync.Mutex
	ws   []updater.Workload
	// hold, when set, makes Rollback wait for it to be closed.
	hold  chan struct{}
	held  chan struct{} // closed when a Rollback is waiting on hold
	calls []string
}

func (b *memBackend) Kind() policy.Kind { return b.kind }

func (b *memBackend) List(ctx context.Context) ([]updater.Workload, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]updater.Workload(nil), b.ws...), nil
}

func (b *memBackend) Update(ctx context.Context, ws []updater.Workload, t updater.Target, p updater.Plan, j updater.Journal, log zerolog.Logger) updater.Result {
	return updater.Result{Outcome: updater.Aborted, Reason: "memBackend makes no rollouts"}
}

func (b *memBackend) Rollback(ctx context.Context, w updater.Workload) error {
	b.mu.Lock()
	b.calls = append(b.calls, "rollback "+w.Key())
	hold, held := b.hold, b.held
	b.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	return nil
}

func (b *memBackend) Finish(ctx context.Context, w updater.Workload) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "finish "+w.Key())
	return nil
}

func (b *memBackend) called() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}
