package policy

import (
	"fmt"
	"time"
)

// Canary is a rollout's first stage: a few tasks (or the first containers of a group)
// run the new digest for Hold while the others keep the old one; only then does the
// rest follow. Tasks and Percent are exclusive: a count, or a share of the workload.
type Canary struct {
	// Tasks is how many tasks (containers) go first, when set.
	Tasks int `json:"tasks,omitempty"`
	// Percent is the share that goes first, rounded up, when Tasks is not set.
	Percent int `json:"percent,omitempty"`
	// Hold is how long the canary is watched before the rest follows.
	Hold time.Duration `json:"hold"`
}

// Count is how many of total tasks go first: at least one, and fewer than total so
// that something is left to keep serving the old digest. It is 0 when total is below
// 2: a canary of the whole workload is no canary.
func (c Canary) Count(total int) int {
	if total < 2 {
		return 0
	}
	n := c.Tasks
	if n <= 0 {
		n = (total*c.Percent + 99) / 100
	}
	return min(max(n, 1), total-1)
}

// String says how many go first: "1 task", "3 tasks", "10%".
func (c Canary) String() string {
	switch {
	case c.Tasks == 1:
		return "1 task"
	case c.Tasks > 1:
		return fmt.Sprintf("%d tasks", c.Tasks)
	default:
		return fmt.Sprintf("%d%%", c.Percent)
	}
}

// HoldFor is the canary's hold, 0 for a nil canary: what a rollout's deadline adds.
func (c *Canary) HoldFor() time.Duration {
	if c == nil {
		return 0
	}
	return c.Hold
}
