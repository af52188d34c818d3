package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Phase is how far a rollout has come. hoist writes the phase to the store before it
// acts on it, one write per change, so that a hoist killed at any moment finds on
// restart what it was doing and can finish it (the updater resumes it).
type Phase string

const (
	// PhaseSubmitted: the rollout is recorded and its change is about to be sent to the
	// engine (it may or may not have arrived).
	PhaseSubmitted Phase = "submitted"
	// PhaseCanary: a few tasks (or a group's first containers) run the target for the
	// canary's hold while the rest keep the old image.
	PhaseCanary Phase = "canary"
	// PhaseConverging: the engine took the change; tasks or containers are being replaced.
	PhaseConverging Phase = "converging"
	// PhaseWatching: everything runs the target; hoist watches it as its plan says.
	PhaseWatching Phase = "watching"
	// PhaseRollingBack: the target failed; the workload is going back.
	PhaseRollingBack Phase = "rolling_back"
	// PhaseEnded: the record has its outcome.
	PhaseEnded Phase = "ended"
)

// SetPhase moves the unfinished record id to phase p in one write. It returns the
// record as stored. A change the phase table does not allow (Transition), or any change
// of a record that has its outcome, is a *PhaseError and writes nothing.
func (s *Store[P]) SetPhase(id uint64, p Phase, at time.Time) (Rollout[P], error) {
	var r Rollout[P]
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRollouts)
		v := b.Get(key(id))
		if v == nil {
			return fmt.Errorf("rollout %d: not in the store", id)
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("rollout %d: %w", id, err)
		}
		from := r.Phase
		if r.Outcome != Running {
			from = PhaseEnded
		}
		if err := Transition(from, p); err != nil {
			return fmt.Errorf("rollout %d: %w", id, err)
		}
		r.Enter(p, at)
		if p == PhaseWatching && r.Plan != nil {
			r.WatchUntil = at.Add((*r.Plan).WatchFor())
		}
		nv, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put(key(id), nv)
	})
	return r, err
}
