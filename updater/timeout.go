package updater

import (
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// TimeoutOrDefault is the plan's Timeout, or policy.DefaultTimeout when it sets none:
// the bound the updater records as a rollout's deadline and the backends enforce. A
// canary's hold comes on top of it.
func (p Plan) TimeoutOrDefault() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout + p.Canary.HoldFor()
	}
	return policy.DefaultTimeout + p.Canary.HoldFor()
}
