package updater

import "time"

// What the updater needs of the store (package store implements it all), in halves a
// consumer can take alone.

// RolloutReader is the read half of the store, for the API and CLI.
type RolloutReader interface {
	Rollouts(workload string, limit int) ([]Rollout, error)
	Quarantines(workload string) ([]Quarantine, error)
}

// RecordWriter writes rollout records. Begin records one that starts (running); Add
// one as given, ended or not, in one write; Put a whole record; PutQuarantined a record
// and, when q is not nil, the quarantine of its digest in one write. SetPhase moves an
// unfinished record to a phase, refusing a change the phase table does not allow with
// a *store.PhaseError.
type RecordWriter interface {
	Begin(r Rollout) (uint64, error)
	Add(r Rollout) (uint64, error)
	Put(r Rollout) error
	PutQuarantined(r Rollout, q *Quarantine) error
	SetPhase(id uint64, p Phase, at time.Time) (Rollout, error)
	Get(id uint64) (Rollout, error)
	// Unfinished returns the records a previous process left running, oldest first.
	Unfinished() ([]Rollout, error)
}

// Quarantiner keeps the digests that failed per workload. ClearQuarantine returns
// ErrNotQuarantined when there was nothing to clear.
type Quarantiner interface {
	Quarantine(q Quarantine) error
	IsQuarantined(workload, digest string) (bool, error)
	ClearQuarantine(workload string) (int, error)
}

// Gatekeeper keeps what a policy's when holds an update by: when a digest was first
// seen (remembering now when never), and approvals.
type Gatekeeper interface {
	FirstSeen(digestRef string, now time.Time) (time.Time, error)
	Approve(a Approval) error
	IsApproved(workload, digest string) (bool, error)
}

// Records is all the updater keeps across restarts.
type Records interface {
	RolloutReader
	RecordWriter
	Quarantiner
	Gatekeeper
}
