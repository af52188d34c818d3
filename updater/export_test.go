package updater

import "context"

// Matches is how many times u matched a listed workload against its policies.
func Matches(u *Updater) int64 { return u.matches.Load() }

// Idle reports whether u has no job running and nothing queued.
func Idle(u *Updater) bool { return u.queue.idle() }

// ListWorkloads lists u's workloads anew, as a job does.
func ListWorkloads(ctx context.Context, u *Updater) ([]Workload, error) {
	return u.workloads(ctx, true)
}
