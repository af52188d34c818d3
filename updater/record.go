package updater

import (
	"time"

	"github.com/hoist-dev/hoist/store"
)

// The records the updater writes are the store's, with the updater's Plan.
type (
	// Rollout is the record of one rollout.
	Rollout = store.Rollout[Plan]
	// Quarantine records a digest that failed for a workload.
	Quarantine = store.Quarantine
	// Approval records that an operator let a digest roll out to a workload.
	Approval = store.Approval
	// Outcome is how a rollout ended.
	Outcome = store.Outcome
	// Phase is how far a rollout has come (see store.Phase).
	Phase = store.Phase
	// PhaseMark is a phase a rollout entered, and when.
	PhaseMark = store.PhaseMark
)

// Running is the outcome shown for a rollout that has not ended.
const Running = store.Running

// The phases of a rollout, in the order it meets them; store.Transition says which may
// follow which.
const (
	PhaseSubmitted   = store.PhaseSubmitted
	PhaseCanary      = store.PhaseCanary
	PhaseConverging  = store.PhaseConverging
	PhaseWatching    = store.PhaseWatching
	PhaseRollingBack = store.PhaseRollingBack
	PhaseEnded       = store.PhaseEnded
)

// ErrNotQuarantined is what ClearQuarantine returns when there was nothing to clear.
var ErrNotQuarantined = store.ErrNotQuarantined

// WatchFor is how long a rollout's watch lasts; the store reads it when a record
// enters PhaseWatching.
func (p Plan) WatchFor() time.Duration { return p.Watch }
