package app

import (
	"fmt"
	"time"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// Policies compiles the file's policies into rules, plans and poll intervals.
func Policies(cfg *config.Config) (*policy.Set, map[string]updater.Plan, map[string]time.Duration, error) {
	rules := make([]*policy.Rule, 0, len(cfg.Policies))
	plans := map[string]updater.Plan{}
	intervals := map[string]time.Duration{}
	for _, p := range cfg.Policies {
		r, err := policy.NewRule(p.Name, p.Match.Services, p.Match.Containers, p.Match.Labels, policy.Strategy(p.Update), p.Semver)
		if err != nil {
			return nil, nil, nil, err
		}
		if p.Update == string(policy.Tags) && p.Tags != nil {
			t := p.Tags
			if r.Tags, err = policy.NewTagFilter(t.Filter.Pattern, t.Filter.Extract, policy.Order(t.Order), t.Direction == "asc", t.Exclude); err != nil {
				return nil, nil, nil, fmt.Errorf("policy %s: %w", p.Name, err)
			}
		}
		if r.When, err = when(p.When); err != nil {
			return nil, nil, nil, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		r.Verify = verifyRule(p.Verify)
		r.Gate = p.Gate.Rule()
		if w := p.Watchtower; w != nil {
			r.Watchtower = &policy.Watchtower{LabelEnable: w.LabelEnable, Scope: w.Scope, LifecycleHooks: w.LifecycleHooks}
		}
		rules = append(rules, r)
		plan := updater.Plan{
			Parallelism: p.Rollout.Parallelism, Delay: p.Rollout.Delay.D(), StartFirst: p.Rollout.Order == "start-first",
			Monitor: p.Rollout.Monitor.D(), MaxFailureRatio: p.Rollout.MaxFailureRatio,
			Watch: p.Health.Watch.D(), Timeout: p.Health.Timeout.D(), KeepPrevious: p.Rollout.KeepPrevious.D(),
		}
		if plan.ComposeFile, err = policy.ParseComposeFile(p.Rollout.ComposeFile); err != nil {
			return nil, nil, nil, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		for _, k := range p.Rollout.Written {
			plan.Written |= planFields[k]
		}
		if h := p.Health.HTTP; h != nil {
			plan.HTTPProbe = &updater.HTTPProbe{Port: h.Port, Path: h.Path}
		}
		plan.Canary = p.Rollout.Canary.Policy()
		plan.Gate = r.Gate
		plans[p.Name] = plan
		if p.Interval != nil {
			intervals[p.Name] = p.Interval.D()
		}
	}
	return policy.NewSet(rules...), plans, intervals, nil
}

// planFields names the rollout settings a policy can write, as config spells them.
var planFields = map[string]updater.PlanFields{
	"parallelism": updater.FieldParallelism, "delay": updater.FieldDelay, "order": updater.FieldOrder,
	"monitor": updater.FieldMonitor, "max_failure_ratio": updater.FieldMaxFailureRatio,
}

// when compiles a policy's when: windows read in its time zone, and the minimum age.
func when(w config.When) (policy.When, error) {
	out := policy.When{MinAge: w.MinAge.D(), Approve: w.Approve, After: w.After.Rule()}
	if w.Timezone != "" {
		loc, err := time.LoadLocation(w.Timezone)
		if err != nil {
			return out, fmt.Errorf("timezone %q: %w", w.Timezone, err)
		}
		out.Location = loc
	}
	for _, cw := range w.Windows {
		win := policy.Window{
			From: policy.Clock{Hour: cw.From.Hour(), Minute: cw.From.Minute(), Second: cw.From.Second()},
			To:   policy.Clock{Hour: cw.To.Hour(), Minute: cw.To.Minute(), Second: cw.To.Second()},
		}
		for _, d := range cw.Days {
			win.Days[d] = true
		}
		out.Windows = append(out.Windows, win)
	}
	return out, nil
}

// verifyRule turns a policy's verify block into its rule's signers (nil: none).
func verifyRule(vf *config.Verify) *policy.Verify {
	if vf == nil {
		return nil
	}
	r := &policy.Verify{TrustedRoot: vf.TrustedRoot, RequireAll: vf.Require == "all", Wait: vf.WaitOrDefault().D()}
	for _, c := range vf.Cosign {
		if c.Key != "" {
			r.Keys = append(r.Keys, c.Key)
		} else if c.Keyless != nil {
			r.Identities = append(r.Identities, [2]string{c.Keyless.Issuer, c.Keyless.SubjectRegexp})
		}
	}
	return r
}
