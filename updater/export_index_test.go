package updater

import (
	"context"
	"time"
)

// ListedAt is when the last listing of u began (zero: none, or stale).
func ListedAt(u *Updater) time.Time {
	if l := u.listed.Load(); l != nil {
		return l.at
	}
	return time.Time{}
}

// LockedBuffer is the log sink the updater's own tests use.
type LockedBuffer = lockedBuffer

// StreamState runs what says when ix's event stream breaks and is back, looking every
// d, until ctx ends.
func StreamState(ctx context.Context, u *Updater, kind string, ix Index, d time.Duration) {
	streamCheck = d
	u.streamState(ctx, kind, ix)
}
