package policy

import "time"

// Verify says a rule rolls out only signed digests. Which signatures count is checked
// outside this package (hoist's verify package, through the updater's Signatures);
// the rule only carries how long an unsigned digest is held for its signature.
type Verify struct {
	// Wait is how long after a digest is first seen its signature may still arrive.
	Wait time.Duration
}
