package store

import (
	"testing"
	"time"
)

func TestPhaseHistory(t *testing.T) {
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
	want := []Phase{PhaseSubmitted}
	for i, p := range []Phase{PhaseConverging, PhaseWatching, PhaseRollingBack} {
		if _, err := s.SetPhase(id, p, t0.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phases) != len(want) {
		t.Fatalf("phases %v, want %v", got.Phases, want)
	}
	for i, m := range got.Phases {
		if m.Phase != want[i] || !m.At.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Errorf("mark %d = %v, want %s at +%ds", i, m, want[i], i)
		}
	}
	// A rollout resumed without end keeps its first marks and its latest ones.
	for i := range 100 {
		got.Enter(PhaseConverging, t0.Add(time.Duration(10+i)*time.Second))
	}
	if n := len(got.Phases); n != maxPhaseMarks {
		t.Fatalf("%d marks kept, want %d", n, maxPhaseMarks)
	}
	if got.Phases[0].Phase != PhaseSubmitted || !got.Phases[maxPhaseMarks-1].At.Equal(t0.Add(109*time.Second)) {
		t.Errorf("first %v, last %v", got.Phases[0], got.Phases[maxPhaseMarks-1])
	}
}
