package updater

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// Poll runs check cycles until ctx ends. Each policy is checked every intervals[name],
// or every def when it has none; 0 turns a policy's polling off. jitter delays each
// cycle by up to that much, so many hoists don't hit a registry in step.
func (u *Updater) Poll(ctx context.Context, def time.Duration, intervals map[string]time.Duration, jitter time.Duration) {
	every := func(r *policy.Rule) time.Duration {
		if d, ok := intervals[r.Name]; ok {
			return d
		}
		return def
	}
	tick := time.Duration(0)
	for _, r := range u.policies().Rules() {
		if d := every(r); d > 0 && (tick == 0 || d < tick) {
			tick = d
		}
	}
	if tick == 0 {
		u.log.Info().Msg("polling is off")
		return
	}
	last := map[string]time.Time{}
	for {
		wait := tick
		if jitter > 0 {
			wait += rand.N(jitter)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		now := time.Now()
		dueSet := map[string]bool{}
		for _, r := range u.policies().Rules() {
			if d := every(r); d > 0 && now.Sub(last[r.Name]) >= d-tick/10 {
				dueSet[r.Name], last[r.Name] = true, now
			}
		}
		due := func(r *policy.Rule) bool { return dueSet[r.Name] }
		sts, err := u.check(ctx, true, "poll", due)
		if err != nil {
			u.log.Warn().Err(err).Msg("poll cycle failed")
			continue
		}
		took := time.Since(now)
		u.observe("hoist_poll_cycle_duration_seconds", took.Seconds())
		u.gaugeActions(dueSet, sts)
		n := 0
		failed := map[string][]string{} // why a check failed (it names the registry) → workloads
		for _, st := range sts {
			switch st.Action {
			case WouldUpdate:
				n++
			case CheckError:
				failed[st.Reason] = append(failed[st.Reason], st.Workload.Key())
			}
		}
		for why, ws := range failed {
			u.log.Warn().Strs("workloads", ws).Msg("poll: check failed, retried next cycle: " + why)
		}
		u.log.Debug().Int("workloads", len(sts)).Int("updates", n).Dur("took", took).Msg("poll cycle")
	}
}

// actions are every Action a policy's workloads can be in, for the gauges.
var actions = []Action{UpToDate, WouldUpdate, Deferred, AwaitingApproval, AwaitingSignature, AwaitingPromotion, Quarantined, WatchOnly, Equivalent, Refused, CheckError}

// gaugeActions sets hoist_workloads{policy,action} for the policies a cycle checked:
// how many of their workloads are in each state (alert on quarantined or error).
func (u *Updater) gaugeActions(checked map[string]bool, sts []Status) {
	n := map[string]map[Action]int{}
	for p := range checked {
		n[p] = map[Action]int{}
	}
	for _, st := range sts {
		if m, ok := n[st.Policy]; ok {
			m[st.Action]++
		}
	}
	for p, m := range n {
		for _, a := range actions {
			u.gauge("hoist_workloads", float64(m[a]), "policy", p, "action", string(a))
		}
	}
}
