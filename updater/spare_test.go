package updater

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A rollback the backend says was not the image's fault (a node lost mid-rollout)
// leaves the digest free twice; the third time it is quarantined all the same, so a
// node that keeps going away cannot make a loop of rollouts. An image's own failure is
// quarantined at once, in the same write that ends its record.
func TestNotTheImageSpared(t *testing.T) {
	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u := New(Options{Store: store, Log: zerolog.Nop()})
	const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	to := "reg/app@" + digest
	lost := Result{Outcome: RolledBack, Reason: "Swarm rolled back; task x: its node went away", NotTheImage: true}
	for i, want := range []bool{false, false, true} {
		id, err := store.Begin(Rollout{Workload: "service/app", From: "reg/app@sha256:0", To: to, Started: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		u.end([]Rollout{{ID: id, Workload: "service/app", To: to}}, lost, zerolog.Nop())
		q, _ := store.IsQuarantined("service/app", digest)
		rec, _ := store.Get(id)
		t.Logf("rollback %d: quarantined %v: %s", i+1, q, rec.Reason)
		if q != want {
			t.Fatalf("rollback %d over a lost node: quarantined %v, want %v", i+1, q, want)
		}
		if !want && !strings.HasSuffix(rec.Reason, "not quarantined: the next check tries it again") ||
			want && !strings.Contains(rec.Reason, "quarantined all the same: rolled back 2 times before") {
			t.Errorf("rollback %d: reason %q", i+1, rec.Reason)
		}
	}

	id, _ := store.Begin(Rollout{Workload: "service/web", To: to, Started: time.Now()})
	u.end([]Rollout{{ID: id, Workload: "service/web", To: to}}, Result{Outcome: RolledBack, Reason: "task y exited (exit 4)"}, zerolog.Nop())
	if q, _ := store.IsQuarantined("service/web", digest); !q {
		t.Error("an image's own failure is not quarantined")
	}
}
