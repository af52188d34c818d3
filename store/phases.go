package store

import "fmt"

// phaseFlow is every phase change a rollout may make: for each phase, the phases it may
// enter next, and why. Store.SetPhase, which every phase change of a stored record goes
// through, refuses any other (see Transition). A rollout starts in PhaseSubmitted and
// leaves PhaseEnded never.
//
// The engine, not the record, is the truth after a restart: a resumed rollout enters
// the phase its workload shows (the updater's resume and each backend's), so most
// phases may follow most others. What the table keeps out: a return to PhaseSubmitted, any
// change after PhaseEnded, and phases hoist does not know. PhaseRollingBack may be
// entered from every unfinished phase: nothing refuses a rollback.
var phaseFlow = map[Phase]map[Phase]string{
	PhaseSubmitted: {
		PhaseCanary:      "the canary started",
		PhaseConverging:  "the engine took the change",
		PhaseWatching:    "resumed: the workload already runs the target",
		PhaseRollingBack: "resumed: the engine rolled the change back, or the target failed",
		PhaseEnded:       "the rollout was skipped, aborted or refused before the change",
	},
	PhaseCanary: {
		PhaseCanary:      "resumed: the canary's hold is taken up, or started again",
		PhaseConverging:  "the canary's hold passed: the rest follows",
		PhaseWatching:    "resumed: the workload already runs the target",
		PhaseRollingBack: "the canary failed",
		PhaseEnded:       "the rollout ended before the rest followed (skipped, or handed on)",
	},
	PhaseConverging: {
		PhaseCanary:      "the next service of a group starts with its canary",
		PhaseConverging:  "resumed: the update is made or followed again",
		PhaseWatching:    "every task or container runs the target",
		PhaseRollingBack: "the target failed while converging",
		PhaseEnded:       "the rollout ended (job or empty service, or judged)",
	},
	PhaseWatching: {
		PhaseCanary:      "the next service of a group starts with its canary, or resumed: the canary starts again",
		PhaseConverging:  "the next service of a group, or resumed: the update is made again",
		PhaseWatching:    "resumed: the watch starts again in full",
		PhaseRollingBack: "the target failed within the watch",
		PhaseEnded:       "the watch passed",
	},
	PhaseRollingBack: {
		PhaseCanary:      "resumed: the rollback had finished and the update starts again with its canary",
		PhaseConverging:  "resumed: the rollback had finished and the update is made again",
		PhaseWatching:    "resumed: the replacement still runs and is judged again",
		PhaseRollingBack: "resumed, or Swarm's own rollback seen through after hoist's",
		PhaseEnded:       "the workload is back, or could not be brought back",
	},
	PhaseEnded: {},
}

// phaseOrder lists the phases in the order a rollout meets them.
var phaseOrder = []Phase{PhaseSubmitted, PhaseCanary, PhaseConverging, PhaseWatching, PhaseRollingBack, PhaseEnded}

// PhaseError is a phase change the table does not allow.
type PhaseError struct {
	From, To Phase
}

func (e *PhaseError) Error() string {
	from := e.From
	if from == "" {
		from = "(none)"
	}
	return fmt.Sprintf("rollout phase %s cannot follow %s", e.To, from)
}

// Transition reports whether a rollout in phase from may enter to: nil, or a
// *PhaseError. A record written by a hoist that kept no phases ("") counts as
// submitted.
func Transition(from, to Phase) error {
	if from == "" {
		from = PhaseSubmitted
	}
	if _, ok := phaseFlow[from][to]; !ok {
		return &PhaseError{From: from, To: to}
	}
	return nil
}
