package swarm

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// TestProgress reads a rolling update's progress as the dashboard does: the tasks on
// the target go 0/2 → 1/2 → 2/2, one replica at a time.
func TestProgress(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 2)
	ctx := context.Background()
	if done, want, err := e.b.Progress(ctx, updater.Workload{Name: w.Name}, v1.Image()); err != nil || done != 2 || want != 2 {
		t.Fatalf("before: %d/%d on v1 (%v), want 2/2", done, want, err)
	}
	res := make(chan updater.Result, 1)
	go func() { res <- e.b.Update(ctx, []updater.Workload{w}, v2, fastPlan(), nil, e.log) }()
	var seen []string
	for {
		done, want, err := e.b.Progress(ctx, updater.Workload{Name: w.Name}, v2.Image())
		if s := fmt.Sprintf("%d/%d", done, want); err == nil && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
		select {
		case r := <-res:
			if r.Outcome != updater.Succeeded {
				t.Fatalf("outcome %s (%s)", r.Outcome, r.Reason)
			}
			t.Logf("progress seen: %v", seen)
			if !slices.Contains(seen, "1/2") || seen[len(seen)-1] != "2/2" {
				t.Errorf("progress %v, want 1/2 on the way and 2/2 at the end", seen)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}
