package ui

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/hoist-dev/hoist/updater"
)

// mark is one step of a rollout's timeline.
type mark struct {
	Phase updater.Phase `json:"phase"`
	At    time.Time     `json:"at"`
	// Note is what the backend said as the rollout entered the phase ("canary 1/10 on
	// node-3, held 10m, healthy → rolling the rest").
	Note string `json:"note,omitempty"`
}

// maxTimelines bounds the rollouts whose phases are remembered; the oldest go first.
const maxTimelines = 512

// timelines remembers the phases this process saw each rollout enter. The store keeps
// a record's current phase only; a timeline shows what was seen since hoist started.
type timelines struct {
	mu    sync.Mutex
	m     map[uint64][]mark
	order []uint64
}

func newTimelines() *timelines { return &timelines{m: map[uint64][]mark{}} }

// note remembers that r was in its phase at its PhaseAt.
func (t *timelines) note(r updater.Rollout) {
	if r.ID == 0 || r.Phase == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ms, ok := t.m[r.ID]
	if !ok {
		if len(t.order) >= maxTimelines {
			delete(t.m, t.order[0])
			t.order = t.order[1:]
		}
		t.order = append(t.order, r.ID)
	}
	for _, m := range ms {
		if m.Phase == r.Phase {
			return
		}
	}
	t.m[r.ID] = append(ms, mark{Phase: r.Phase, At: r.PhaseAt})
}

// of is r's timeline: the phases its record keeps; for a record written before records
// kept them, submitted when it started, the phases seen, the phase recorded, and its end.
func (t *timelines) of(r updater.Rollout) []mark {
	if len(r.Phases) > 0 { // the record keeps its history
		out := make([]mark, len(r.Phases))
		for i, m := range r.Phases {
			out[i] = mark{Phase: m.Phase, At: m.At, Note: m.Note}
		}
		return out
	}
	out := []mark{{Phase: updater.PhaseSubmitted, At: r.Started}}
	seen := map[updater.Phase]bool{updater.PhaseSubmitted: true, updater.PhaseEnded: true}
	t.mu.Lock()
	for _, m := range t.m[r.ID] {
		if !seen[m.Phase] {
			seen[m.Phase] = true
			out = append(out, m)
		}
	}
	t.mu.Unlock()
	if !seen[r.Phase] && r.Phase != "" && !r.PhaseAt.IsZero() {
		out = append(out, mark{Phase: r.Phase, At: r.PhaseAt})
	}
	if !r.Ended.IsZero() {
		out = append(out, mark{Phase: updater.PhaseEnded, At: r.Ended})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// follow keeps timelines and the shared check up to date from the updater's changes
// until ctx ends.
func (s *Server) follow(ctx context.Context) {
	ch, cancel := s.u.Subscribe()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-ch:
			if !ok {
				return
			}
			if c.Rollout != nil {
				s.timelines.note(*c.Rollout)
			}
			if c.Kind != updater.ChangeRollout || c.Rollout == nil || c.Rollout.Outcome != updater.Running {
				s.state.invalidate()
			}
		}
	}
}
