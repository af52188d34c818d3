package store

import (
	"errors"
	"testing"
	"time"
)

// Records and quarantines survive a restart; a rollout left running by a crash is
// found unfinished on the next start, with its phase.
func TestStoreSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open[plan](dir, false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	id1, _ := s.Begin(rec{Workload: "service/web", From: "a", To: "b", Trigger: "poll", Started: now})
	s.Put(rec{ID: id1, Workload: "service/web", From: "a", To: "b", Trigger: "poll", Started: now, Ended: now, Outcome: rolledBack, Reason: "crash"})
	s.Quarantine(Quarantine{Workload: "service/web", Digest: "sha256:bb", Since: now, Reason: "crash", Rollout: id1})
	id2, _ := s.Begin(rec{Workload: "service/api", From: "c", To: "d", Trigger: "dockerhub", Started: now, Phase: PhaseSubmitted, Plan: &plan{Watch: 30 * time.Second}})
	if _, err := s.SetPhase(id2, PhaseWatching, now); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open[plan](dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ab, err := s.Unfinished()
	if err != nil || len(ab) != 1 || ab[0].ID != id2 || ab[0].Outcome != Running || ab[0].Phase != PhaseWatching ||
		!ab[0].WatchUntil.Equal(now.Add(30*time.Second)) {
		t.Fatalf("unfinished: %+v %v", ab, err)
	}
	rs, _ := s.Rollouts("", 10)
	if len(rs) != 2 || rs[0].ID != id2 || rs[1].Outcome != rolledBack || rs[1].Reason != "crash" {
		t.Fatalf("rollouts newest first: %+v", rs)
	}
	if rs, _ := s.Rollouts("service/web", 10); len(rs) != 1 {
		t.Fatalf("filter by workload: %+v", rs)
	}
	if q, _ := s.IsQuarantined("service/web", "sha256:bb"); !q {
		t.Fatal("quarantine lost across restart")
	}
	if q, _ := s.IsQuarantined("service/api", "sha256:bb"); q {
		t.Fatal("quarantine is per workload")
	}
	if n, err := s.ClearQuarantine("service/web"); n != 1 || err != nil {
		t.Fatalf("clear: %d %v", n, err)
	}
	if _, err := s.ClearQuarantine("service/web"); !errors.Is(err, ErrNotQuarantined) {
		t.Fatalf("second clear: %v", err)
	}
}

// A note that ended when it was made is written whole: it is never "running", not even
// between two writes, and a restart does not take it for an interrupted rollout.
func TestStoreAddEndedRecord(t *testing.T) {
	dir := t.TempDir()
	s, err := Open[plan](dir, false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	id, err := s.Add(rec{Workload: "service/web", From: "a", To: "b", Trigger: "poll", Started: now, Ended: now, Outcome: refused, Reason: "no linux/amd64"})
	if err != nil || id == 0 {
		t.Fatalf("add: %d %v", id, err)
	}
	rs, _ := s.Rollouts("service/web", 10)
	if len(rs) != 1 || rs[0].ID != id || rs[0].Outcome != refused || rs[0].Reason != "no linux/amd64" {
		t.Fatalf("after add: %+v", rs)
	}
	s.Close()
	if s, err = Open[plan](dir, false); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ab, err := s.Unfinished(); err != nil || len(ab) != 0 {
		t.Fatalf("an ended note taken for interrupted: %+v %v", ab, err)
	}
}

// A digest's first sighting is kept across restarts and never moved by later ones;
// old sightings can be forgotten.
func TestStoreFirstSeen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open[plan](dir, false)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if got, err := s.FirstSeen("r/app@sha256:aa", t0); err != nil || !got.Equal(t0) {
		t.Fatalf("first sighting: %s %v", got, err)
	}
	if got, _ := s.FirstSeen("r/app@sha256:aa", t0.Add(time.Hour)); !got.Equal(t0) {
		t.Fatalf("second sighting moved it: %s", got)
	}
	s.FirstSeen("r/app@sha256:bb", t0.Add(2*time.Hour))
	s.Close()

	if s, err = Open[plan](dir, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FirstSeen("r/app@sha256:aa", t0.Add(3*time.Hour)); !got.Equal(t0) {
		t.Fatalf("after a restart: %s, want %s", got, t0)
	}
	if n, err := s.ForgetSeen(t0.Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("forget: %d %v, want 1", n, err)
	}
	if got, _ := s.FirstSeen("r/app@sha256:bb", t0.Add(5*time.Hour)); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("a recent sighting was forgotten: %s", got)
	}
	s.Close()

	ro, err := Open[plan](dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got, err := ro.FirstSeen("r/app@sha256:cc", t0.Add(9*time.Hour)); err != nil || !got.Equal(t0.Add(9*time.Hour)) {
		t.Fatalf("read-only store, unknown digest: %s %v, want now", got, err)
	}
}

// plan is the plan type of the records these tests write.
type plan struct {
	Watch time.Duration `json:"watch,omitempty"`
}

func (p plan) WatchFor() time.Duration { return p.Watch }

type rec = Rollout[plan]

// Outcomes as the updater names them.
const (
	succeeded  Outcome = "succeeded"
	rolledBack Outcome = "rolled_back"
	failed     Outcome = "failed"
	skipped    Outcome = "skipped"
	refused    Outcome = "refused"
)
