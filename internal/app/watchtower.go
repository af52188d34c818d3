package app

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// checkAllSoon returns a function that starts one check of every workload under ctx
// (the server's, not a request's) and returns at once. Calls made while a check runs
// coalesce into one more check after it. What needs a rollout goes through the
// updater's dispatcher, as a poll's findings do.
func checkAllSoon(ctx context.Context, u *updater.Updater, log zerolog.Logger) func(source string) {
	var mu sync.Mutex
	running, again := false, false
	return func(source string) {
		mu.Lock()
		defer mu.Unlock()
		if running {
			again = true
			return
		}
		running = true
		go func() {
			for {
				if _, err := u.Check(ctx, true, source); err != nil && ctx.Err() == nil {
					log.Warn().Err(err).Str("trigger", source).Msg("check requested by " + source + " failed")
				}
				mu.Lock()
				if !again || ctx.Err() != nil {
					running = false
					mu.Unlock()
					return
				}
				again = false
				mu.Unlock()
			}
		}()
	}
}

// watchtowerOf says how the policy governing a container reads Watchtower's labels
// (nil: it does not), for the container backend's lifecycle commands.
func watchtowerOf(set *policy.Set) func(name string, labels map[string]string) *policy.Watchtower {
	return func(name string, labels map[string]string) *policy.Watchtower {
		if r, _ := set.For(policy.Container, name, labels); r != nil {
			return r.Watchtower
		}
		return nil
	}
}
