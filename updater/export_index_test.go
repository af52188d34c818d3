package updater

import "time"

// ListedAt is when the last listing of u began (zero: none, or stale).
func ListedAt(u *Updater) time.Time {
	if l := u.listed.Load(); l != nil {
		return l.at
	}
	return time.Time{}
}
