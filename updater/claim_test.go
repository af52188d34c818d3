package updater

import (
	"context"
	"testing"
	"time"
)

// TestClaimWaitsForACheck: a manual action's claim waits for a check that holds the
// workload's slot for a moment, and gives up on one that outlasts the wait.
func TestClaimWaitsForACheck(t *testing.T) {
	q := newQueue(func(context.Context, string, Trigger, time.Time) {})
	held, ok := q.claim("service/web") // a check in progress
	if !ok {
		t.Fatal("first claim refused")
	}
	time.AfterFunc(200*time.Millisecond, held)
	start := time.Now()
	release, ok := q.claimWait(context.Background(), "service/web", 5*time.Second)
	if !ok {
		t.Fatal("the claim did not wait for the check to end")
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("claimed after %s, while the check held the slot for 200ms", waited)
	}
	// A rollout holds the slot longer than the wait: refused.
	if _, ok := q.claimWait(context.Background(), "service/web", 300*time.Millisecond); ok {
		t.Error("a second claim got the slot while the first held it")
	}
	release()
}
