package updater

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rs/zerolog"
)

// The re-check timers: per key the earliest pending one wins, stop drops them all and
// sets no more, and the re-checks of a push are used up after pushRechecks.
func TestTimers(t *testing.T) {
	fired := make(chan string, 8)
	ts := newTimers(time.Now, func(key string, tr Trigger, _ time.Time) { fired <- key + " " + string(tr) }, zerolog.Nop())
	now := time.Now()

	ts.recheck("job", now.Add(time.Hour), TriggerSchedule)
	ts.recheck("job", now.Add(20*time.Millisecond), TriggerRetry) // earlier: replaces
	ts.recheck("job", now.Add(30*time.Minute), TriggerSchedule)   // later: the earlier one stays
	select {
	case got := <-fired:
		if got != "job retry" {
			t.Errorf("fired %q, want the earliest (job retry)", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the earliest re-check never fired")
	}
	ts.mu.Lock()
	left := len(ts.wakeups)
	ts.mu.Unlock()
	if left != 0 {
		t.Errorf("%d re-checks pending after the only one fired", left)
	}

	tag, _ := name.NewTag("reg.example/app:stable")
	for range len(pushRechecks) + 2 {
		ts.recheckPush("pushed", tag, "distribution")
	}
	ts.mu.Lock()
	used := ts.pushes["pushed"].n
	ts.mu.Unlock()
	if used != len(pushRechecks) {
		t.Errorf("%d re-checks of one push, want %d", used, len(pushRechecks))
	}
	ts.pushFound("pushed")
	ts.mu.Lock()
	_, kept := ts.pushes["pushed"]
	ts.mu.Unlock()
	if kept {
		t.Error("a push found moved keeps its re-checks counted")
	}

	ts.stop()
	ts.recheck("late", now.Add(time.Millisecond), TriggerRetry)
	ts.mu.Lock()
	left = len(ts.wakeups)
	ts.mu.Unlock()
	if left != 0 {
		t.Errorf("%d re-checks pending after stop", left)
	}
}

// A manual action claims a job's slot: a job asked for meanwhile is not started but
// requeued when the slot is released, and a second claim is refused.
func TestQueueClaim(t *testing.T) {
	ran := make(chan string, 4)
	q := newQueue(func(_ context.Context, key string, tr Trigger, _ time.Time) { ran <- key })
	release, ok := q.claim("service/web")
	if !ok {
		t.Fatal("the slot of an idle job is refused")
	}
	if _, again := q.claim("service/web"); again {
		t.Error("a claimed slot is claimed twice")
	}
	q.start(context.Background(), "service/web", TriggerApprove, time.Now(), nil)
	select {
	case <-ran:
		t.Fatal("a job ran while its slot was claimed")
	default:
	}
	release()
	q.mu.Lock()
	r, requeued := q.requeued["service/web"]
	q.mu.Unlock()
	if !requeued || r.trigger != TriggerApprove {
		t.Errorf("released slot: requeued %v (%+v), want the job asked for meanwhile, trigger approve", requeued, r)
	}
	if q.idle() {
		t.Error("idle with a job requeued")
	}
}
