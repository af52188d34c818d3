package updater

// Matches is how many times u matched a listed workload against its policies.
func Matches(u *Updater) int64 { return u.matches.Load() }

// Idle reports whether u has no job running and nothing queued.
func Idle(u *Updater) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.jobs) == 0 && len(u.pending) == 0 && len(u.requeued) == 0
}
