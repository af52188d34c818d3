package store

import "time"

// Plan is what the store reads of the plan a record keeps: how long the watch after a
// completed rollout lasts (SetPhase sets WatchUntil from it).
type Plan interface {
	WatchFor() time.Duration
}

// Rollout is the record of one rollout. P is the plan it followed, kept so that a
// restarted hoist follows it too.
type Rollout[P Plan] struct {
	ID       uint64    `json:"id"`
	Workload string    `json:"workload"` // kind/name
	From     string    `json:"from"`     // image before
	To       string    `json:"to"`       // pinned target image
	Trigger  string    `json:"trigger"`  // poll, dockerhub, distribution, api, ...
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	Outcome  Outcome   `json:"outcome,omitempty"` // empty while running
	Reason   string    `json:"reason,omitempty"`
	// SignedBy names who signed the target, when its policy verifies signatures.
	SignedBy []string `json:"signed_by,omitempty"`
	Order    string   `json:"order,omitempty"`
	Logs     string   `json:"logs,omitempty"`

	// Gate is what a metric gate answered (its query and value) when one decided.
	Gate string `json:"gate,omitempty"`

	// Phase is how far the rollout came; each change is written before hoist acts on it.
	Phase   Phase     `json:"phase,omitempty"`
	PhaseAt time.Time `json:"phase_at,omitzero"`
	// Phases is every phase entered, in order (see PhaseMark).
	Phases []PhaseMark `json:"phases,omitempty"`
	// Plan is what the rollout was to follow.
	Plan *P `json:"plan,omitempty"`
	// Deadline bounds the rollout, watch included; WatchUntil is when the watch ends.
	Deadline   time.Time `json:"deadline,omitzero"`
	WatchUntil time.Time `json:"watch_until,omitzero"`
	// Restarts counts the hoist processes that stopped while this rollout ran.
	Restarts int `json:"restarts,omitempty"`
}

// Outcome is how a rollout ended.
type Outcome string

// Running is the outcome shown for a rollout that has not ended.
const Running Outcome = "running"

// PhaseMark is a phase a rollout entered, and when.
type PhaseMark struct {
	Phase Phase     `json:"phase"`
	At    time.Time `json:"at"`
	// Note says what the backend saw as it entered the phase ("canary 1/10 on node-3,
	// held 10m, healthy → rolling the rest"), when it said anything.
	Note string `json:"note,omitempty"`
}

// maxPhaseMarks bounds a record's phase history; a rollout resumed again and again
// keeps its first marks and its latest ones.
const maxPhaseMarks = 32

// Enter moves r to phase p at at and adds it to r's history. It writes nothing: a
// stored record changes phase through Store.SetPhase, which checks the change.
func (r *Rollout[P]) Enter(p Phase, at time.Time) {
	r.Phase, r.PhaseAt = p, at
	if len(r.Phases) >= maxPhaseMarks {
		half := maxPhaseMarks / 2
		r.Phases = append(r.Phases[:half], r.Phases[len(r.Phases)-half+1:]...)
	}
	r.Phases = append(r.Phases, PhaseMark{Phase: p, At: at})
}

// Quarantine records a digest that failed for a workload.
type Quarantine struct {
	Workload string    `json:"workload"`
	Digest   string    `json:"digest"`
	Since    time.Time `json:"since"`
	Reason   string    `json:"reason"`
	Rollout  uint64    `json:"rollout"`
}

// Approval records that an operator let a digest roll out to a workload.
type Approval struct {
	Workload string    `json:"workload"`
	Digest   string    `json:"digest"`
	At       time.Time `json:"at"`
}
