package updater

// Journal is told each phase a rollout enters, before the backend acts on it. A nil
// Journal records nothing. The updater's Journal writes through Store.SetPhase, which
// refuses a change the phase table (store/phases.go) does not allow: the refusal is logged
// and the record keeps its phase; the backend carries on, so a rollback is never held.
// Notes, when the backend gives any, say what it saw as it entered the phase ("canary
// 1/10 on node-3, held 10m, healthy → rolling the rest"): they are kept with the
// phase's mark in the record and reach the change feed with it.
type Journal func(p Phase, notes ...string)

// Enter records p with its notes; it is safe on a nil Journal.
func (j Journal) Enter(p Phase, notes ...string) {
	if j != nil {
		j(p, notes...)
	}
}

// RestartNote is what a record says of a rollout that outlived a hoist process.
const RestartNote = "hoist restarted during this rollout"

// TriggerEngine is the trigger of a record made from what the engine showed a hoist
// whose store had none (Resumer.Unfinished).
const TriggerEngine = "engine"
