package policy

import "time"

// DefaultTimeout bounds a rollout, watch included, when nothing sets its own timeout:
// the default of a policy's health.timeout (config), and what the updater and both
// backends use for a plan without one. It is the one place this value is defined.
const DefaultTimeout = 5 * time.Minute
