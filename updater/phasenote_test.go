package updater

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// A note a backend gives with a phase is kept with the phase's mark in the record, and
// the change feed carries the record with it; a phase without a note writes no note.
func TestJournalKeepsNotes(t *testing.T) {
	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u := New(Options{Policies: policy.NewSet(), Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	r := Rollout{Workload: "service/web", From: "reg/web:1@sha256:a", To: "reg/web:2@sha256:b", Started: time.Now(), Outcome: Running}
	r.Enter(PhaseSubmitted, r.Started)
	if r.ID, err = store.Begin(r); err != nil {
		t.Fatal(err)
	}
	feed, stop := u.Subscribe()
	defer stop()
	j := u.journal([]Rollout{r}, zerolog.Nop())
	j.Enter(PhaseCanary)
	j.Enter(PhaseConverging, "canary 1/10 on node-3, held 10m0s, healthy", "→ rolling the rest")

	got, err := store.Get(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Phases); n != 3 || got.Phase != PhaseConverging {
		t.Fatalf("phases %+v", got.Phases)
	}
	if got.Phases[1].Phase != PhaseCanary || got.Phases[1].Note != "" {
		t.Errorf("canary mark %+v, want no note", got.Phases[1])
	}
	if want := "canary 1/10 on node-3, held 10m0s, healthy; → rolling the rest"; got.Phases[2].Note != want {
		t.Errorf("note %q, want %q", got.Phases[2].Note, want)
	}
	var last Change
	for len(feed) > 0 {
		last = <-feed
	}
	if last.Rollout == nil || last.Rollout.Phases[len(last.Rollout.Phases)-1].Note != got.Phases[2].Note {
		t.Errorf("the change feed's last record does not carry the note: %+v", last.Rollout)
	}
}
