package swarm

import (
	"context"
	"errors"
	"testing"

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
