package swarm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

func TestManualRollback(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 1)

	if err := e.b.Rollback(context.Background(), w); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("rollback of a fresh service: %v, want ErrNoPrevious", err)
	}
	p := fastPlan()
	p.Watch = 0
	if res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, nil, e.log); res.Outcome != updater.Succeeded {
		t.Fatalf("update: %s (%s)", res.Outcome, res.Reason)
	}
	e.assertOn(w, v2.Image(), 1)
	if err := e.b.Rollback(context.Background(), w); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	e.assertOn(w, v1.Image(), 1)
}

// Two rollbacks of one update — a hoist Swarm started on another manager resuming the
// rollout while the one it replaces still stops, or an operator's `docker service
// rollback` at the same time: the request made on a service inspected before the
// first rollback is refused as out of sequence, and the retry sees the spec back on
// the old image and sends nothing (a second "previous" would swap the failed image
// back in).
func TestRollbackAfterAnotherRollback(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 1)
	p := fastPlan()
	p.Watch = 0
	if res := e.b.Update(ctx, []updater.Workload{w}, v2, p, nil, e.log); res.Outcome != updater.Succeeded {
		t.Fatalf("update: %s (%s)", res.Outcome, res.Reason)
	}
	stale, err := e.b.inspect(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Rollback(ctx, w); err != nil {
		t.Fatalf("first rollback: %v", err)
	}
	prev, err := e.b.requestRollback(ctx, stale, v2.Image())
	if err != nil || prev != nil {
		t.Fatalf("second rollback: status %+v, %v; want nothing sent", prev, err)
	}
	time.Sleep(2 * time.Second)
	e.assertOn(w, v1.Image(), 1)
}
