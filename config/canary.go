package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// Canary is a policy's rollout.canary: a few tasks of a Swarm service (or the first
// containers of a group) run a new digest for hold before the rest follows.
type Canary struct {
	// Tasks is how many go first: a number ("1") or a share of the workload ("10%").
	Tasks CanaryTasks `yaml:"tasks" json:"tasks"`
	// Hold is how long the canary is watched before the rest follows.
	Hold Duration `yaml:"hold" json:"hold"`
}

// CanaryTasks is a count or a percentage, kept as written and checked by validate.
type CanaryTasks string

// UnmarshalYAML keeps the value as written: 1, "1" or "10%".
func (c *CanaryTasks) UnmarshalYAML(b []byte) error {
	*c = CanaryTasks(strings.Trim(strings.TrimSpace(string(b)), `"'`))
	return nil
}

// parse reads a count or a percentage; ok is false when it is neither.
func (c CanaryTasks) parse() (n, percent int, ok bool) {
	s := string(c)
	if p, found := strings.CutSuffix(s, "%"); found {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		return 0, v, err == nil && v >= 1 && v <= 99
	}
	v, err := strconv.Atoi(s)
	return v, 0, err == nil && v >= 1
}

// MinCanaryHold is the shortest hold: a shorter one judges nothing.
const MinCanaryHold = time.Second

func (c *Canary) validate(v *validator, at string) {
	if c == nil {
		return
	}
	switch _, _, ok := c.Tasks.parse(); {
	case c.Tasks == "":
		v.addf(at+".tasks", "tasks is required: how many go first, 1 or a share such as 10%%")
	case !ok:
		v.addf(at+".tasks", "tasks %q: write a whole number of 1 or more, or a share from 1%% to 99%% such as 10%%", string(c.Tasks))
	}
	if c.Hold.D() < MinCanaryHold {
		v.addf(at+".hold", "hold %s is too short: write how long the canary runs before the rest follows, 10m say (at least 1s)", c.Hold.D())
	}
}

// Policy is the canary as the rollout reads it; nil when the policy has none.
func (c *Canary) Policy() *policy.Canary {
	if c == nil {
		return nil
	}
	n, percent, _ := c.Tasks.parse()
	return &policy.Canary{Tasks: n, Percent: percent, Hold: c.Hold.D()}
}
