package updater

// Journal is told each phase a rollout enters, before the backend acts on it. A nil
// Journal records nothing. The updater's Journal writes through Store.SetPhase, which
// refuses a change the phase table (store/phases.go) does not allow: the refusal is logged
// and the record keeps its phase; the backend carries on, so a rollback is never held.
type Journal func(Phase)

// Enter records p; it is safe on a nil Journal.
func (j Journal) Enter(p Phase) {
	if j != nil {
		j(p)
	}
}

// RestartNote is what a record says of a rollout that outlived a hoist process.
const RestartNote = "hoist restarted during this rollout"

// TriggerEngine is the trigger of a record made from what the engine showed a hoist
// whose store had none (Resumer.Unfinished).
const TriggerEngine = "engine"
