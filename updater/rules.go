package updater

import (
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// ruleset is the policies and their rollout plans, swapped whole by SetPolicies.
type ruleset struct {
	policies *policy.Set
	plans    map[string]Plan
}

// listing is what the last listing of the workloads found: a snapshot, never changed
// once stored.
type listing struct {
	at      time.Time       // zero: stale, the next caller lists again
	watched map[string]bool // canonical names of the repositories a policy follows
	entries []entry         // every workload listed, each matched once (entries.go)

	parts  map[policy.Kind]part // each backend's share, as listed or read from its index
	rules  *ruleset             // the rules the entries were matched under
	byRev  map[rev]int          // an indexed workload's revision (per backend) → its entry
	byRepo map[string][]int     // a followed repository → the entries that follow it
	// refresh names, by kind, the workloads hoist changed itself since this listing
	// (invalidate): an index reads them from the engine before the next listing.
	refresh map[policy.Kind][]string
}

// policies returns the policy set in force.
func (u *Updater) policies() *policy.Set { return u.rules.Load().policies }

// plan returns the rollout plan of the policy named policy, as it is now. A rollout
// reads its plan once, when it starts, and keeps it to its end.
func (u *Updater) plan(policy string) Plan { return u.rules.Load().plans[policy] }

// SetPolicies puts a new policy set and its plans in force (a configuration reload).
// Rollouts in flight keep the plan they started with; events, re-checks and polls
// from now on are matched and decided under the new set. It never blocks on the
// engine: the next event lists the workloads again and matches them under set.
func (u *Updater) SetPolicies(set *policy.Set, plans map[string]Plan) {
	u.rules.Store(&ruleset{policies: set, plans: plans})
	u.invalidate()
	u.changed(ChangeResync, "")
}
