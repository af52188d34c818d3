package container

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/updater"
)

// stopped reports whether errs say only that hoist is stopping: ctx, hoist's own
// context, ended, and every error is its end cutting a wait short. A failure seen
// before (an exit, an unhealthy status) is not, and is still reverted.
func stopped(ctx context.Context, errs ...error) bool {
	if ctx.Err() == nil {
		return false
	}
	cut := false
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, ctx.Err()) {
			return false
		}
		cut = true
	}
	return cut
}

// handOver is the result of a rollout hoist stopped before it was judged. The engine
// step in progress has finished; the containers are left as that step left them, which
// Resume (and Recover) take over from: a replacement holding the name with its old
// container waiting as <name>-hoist-old is judged again, an earlier step is undone.
func handOver(what string, ss []*swap, res updater.Result, log zerolog.Logger) updater.Result {
	res.Outcome = updater.HandedOver
	res.Reason = "hoist stopped while " + what
	if len(ss) > 0 {
		res.Reason += " (" + names(ss) + ")"
	}
	res.Reason += "; the next hoist resumes it"
	log.Warn().Str("reason", res.Reason).Msg("hoist is stopping: leaving the containers as they are")
	return res
}
