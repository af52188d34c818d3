package updater

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Phase is how far a rollout has come. hoist writes the phase to the store before it
// acts on it, one write per change, so that a hoist killed at any moment finds on
// restart what it was doing and can finish it (see Updater.Run and Resumer).
type Phase string

const (
	// PhaseSubmitted: the rollout is recorded and its change is about to be sent to the
	// engine (it may or may not have arrived).
	PhaseSubmitted Phase = "submitted"
	// PhaseConverging: the engine took the change; tasks or containers are being replaced.
	PhaseConverging Phase = "converging"
	// PhaseWatching: everything runs the target; hoist watches it for Plan.Watch.
	PhaseWatching Phase = "watching"
	// PhaseRollingBack: the target failed; the workload is going back.
	PhaseRollingBack Phase = "rolling_back"
	// PhaseEnded: the record has its outcome.
	PhaseEnded Phase = "ended"
)

// Journal is told each phase a rollout enters, before the backend acts on it. A nil
// Journal records nothing. The updater's Journal writes through Store.SetPhase, which
// refuses a change the phase table (phases.go) does not allow: the refusal is logged
// and the record keeps its phase; the backend carries on, so a rollback is never held.
type Journal func(Phase)

// Enter records p; it is safe on a nil Journal.
func (j Journal) Enter(p Phase) {
	if j != nil {
		j(p)
	}
}

// PhaseMark is a phase a rollout entered, and when.
type PhaseMark struct {
	Phase Phase     `json:"phase"`
	At    time.Time `json:"at"`
}

// maxPhaseMarks bounds a record's phase history; a rollout resumed again and again
// keeps its first marks and its latest ones.
const maxPhaseMarks = 32

// enter moves r to phase p at at and adds it to r's history.
func (r *Rollout) enter(p Phase, at time.Time) {
	r.Phase, r.PhaseAt = p, at
	if len(r.Phases) >= maxPhaseMarks {
		half := maxPhaseMarks / 2
		r.Phases = append(r.Phases[:half], r.Phases[len(r.Phases)-half+1:]...)
	}
	r.Phases = append(r.Phases, PhaseMark{Phase: p, At: at})
}

// RestartNote is what a record says of a rollout that outlived a hoist process.
const RestartNote = "hoist restarted during this rollout"

// TriggerEngine is the trigger of a record made from what the engine showed a hoist
// whose store had none (Resumer.Unfinished).
const TriggerEngine = "engine"

// SetPhase moves the unfinished record id to phase p in one write. It returns the
// record as stored. A change the phase table does not allow (Transition), or any change
// of a record that has its outcome, is a *PhaseError and writes nothing.
func (s *Store) SetPhase(id uint64, p Phase, at time.Time) (Rollout, error) {
	var r Rollout
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
		r.enter(p, at)
		if p == PhaseWatching && r.Plan != nil {
			r.WatchUntil = at.Add(r.Plan.Watch)
		}
		nv, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put(key(id), nv)
	})
	return r, err
}

// Unfinished returns the records a previous process left running, oldest first.
func (s *Store) Unfinished() ([]Rollout, error) {
	var out []Rollout
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRollouts).ForEach(func(k, v []byte) error {
			var r Rollout
			if json.Unmarshal(v, &r) == nil && r.Outcome == Running {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// Get returns one record.
func (s *Store) Get(id uint64) (Rollout, error) {
	var r Rollout
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRollouts).Get(key(id))
		if v == nil {
			return fmt.Errorf("rollout %d: not in the store", id)
		}
		return json.Unmarshal(v, &r)
	})
	return r, err
}
