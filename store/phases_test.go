package store

import (
	"errors"
	"testing"
	"time"
)

func TestTransition(t *testing.T) {
	const (
		s, k, c, w, rb, e = PhaseSubmitted, PhaseCanary, PhaseConverging, PhaseWatching, PhaseRollingBack, PhaseEnded
	)
	legal := map[[2]Phase]bool{
		{s, k}: true, {s, c}: true, {s, w}: true, {s, rb}: true, {s, e}: true,
		{k, k}: true, {k, c}: true, {k, w}: true, {k, rb}: true, {k, e}: true,
		{c, k}: true, {c, c}: true, {c, w}: true, {c, rb}: true, {c, e}: true,
		{w, k}: true, {w, c}: true, {w, w}: true, {w, rb}: true, {w, e}: true,
		{rb, k}: true, {rb, c}: true, {rb, w}: true, {rb, rb}: true, {rb, e}: true,
		// A record of a hoist that kept no phases counts as submitted.
		{"", k}: true, {"", c}: true, {"", w}: true, {"", rb}: true, {"", e}: true,
	}
	from := append([]Phase{""}, phaseOrder...)
	to := append([]Phase{"", "paused"}, phaseOrder...)
	for _, f := range from {
		for _, n := range to {
			err := Transition(f, n)
			if want := legal[[2]Phase{f, n}]; want != (err == nil) {
				t.Errorf("%q → %q: err %v, want legal %v", f, n, err, want)
			}
			var pe *PhaseError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("%q → %q: %T, want *PhaseError", f, n, err)
			}
		}
	}
	// Nothing refuses a rollback while the rollout runs.
	for _, f := range []Phase{"", s, k, c, w, rb} {
		if err := Transition(f, rb); err != nil {
			t.Errorf("rollback from %q refused: %v", f, err)
		}
	}
	// Every phase has its row, each legal change its reason.
	for _, f := range phaseOrder {
		row, ok := phaseFlow[f]
		if !ok {
			t.Errorf("no row for %s", f)
		}
		for n, why := range row {
			if why == "" {
				t.Errorf("%s → %s has no reason", f, n)
			}
		}
	}
}

// The store refuses an illegal change and keeps the record as it was; a record that
// has its outcome takes no phase.
func TestSetPhaseRefusesIllegal(t *testing.T) {
	s, err := Open[plan](t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	r := rec{Workload: "service/web", From: "a", To: "b", Started: t0}
	r.Enter(PhaseSubmitted, t0)
	id, err := s.Begin(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPhase(id, PhaseConverging, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	var pe *PhaseError
	if _, err := s.SetPhase(id, PhaseSubmitted, t0.Add(2*time.Second)); !errors.As(err, &pe) || pe.From != PhaseConverging {
		t.Fatalf("converging → submitted: %v, want a *PhaseError from converging", err)
	}
	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != PhaseConverging || len(got.Phases) != 2 {
		t.Fatalf("record after a refused change: phase %s, marks %v", got.Phase, got.Phases)
	}
	if _, err := s.SetPhase(id, PhaseRollingBack, t0.Add(3*time.Second)); err != nil {
		t.Fatalf("rollback refused: %v", err)
	}

	got.Outcome, got.Ended = rolledBack, t0.Add(4*time.Second)
	got.Enter(PhaseEnded, got.Ended)
	if err := s.Put(got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPhase(id, PhaseWatching, t0.Add(5*time.Second)); !errors.As(err, &pe) || pe.From != PhaseEnded {
		t.Fatalf("ended → watching: %v, want a *PhaseError from ended", err)
	}
}
