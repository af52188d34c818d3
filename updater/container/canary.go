package container

import (
	"fmt"
	"time"

	"github.com/hoist-dev/hoist/updater"
)

// A policy's canary in a container group: the first containers of the group (in its
// replacement order) are replaced and watched for the canary's hold — their health
// gate, restarts, HTTP probe — while the others keep running the old image; only then
// are the others replaced, batch by batch. A failure within the hold brings the canary
// containers' old containers back: no other container ever ran the target.

// canaryCount is how many of swaps (arranged) go first, 0 without a canary. The canary
// stays within the first level of the order: containers others depend on go first.
func canaryCount(p updater.Plan, swaps []*swap) int {
	if p.Canary == nil || len(swaps) == 0 {
		return 0
	}
	return min(p.Canary.Count(len(swaps)), batchEnd(swaps, 0, len(swaps)))
}

// canaryError is a failure within a canary's hold.
type canaryError struct {
	what string // "canary 1/3 (web-1)"
	in   time.Duration
	hold time.Duration
	err  error
}

func (e *canaryError) Error() string {
	return fmt.Sprintf("%s failed %s into its hold of %s: %v", e.what, e.in.Round(time.Second), e.hold, e.err)
}

func (e *canaryError) Unwrap() error { return e.err }

// canaryWhat names a group's canary: "canary 1/3 (web-1)".
func canaryWhat(part []*swap, total int) string {
	return fmt.Sprintf("canary %d/%d (%s)", len(part), total, names(part))
}
