package config

import (
	"testing"
	"time"

	"github.com/hoist-dev/hoist/policy"
)

func TestCanaryParses(t *testing.T) {
	b := []byte(`
policies:
  - name: count
    match: { services: [a] }
    rollout: { canary: { tasks: 1, hold: 10m } }
  - name: share
    match: { services: [b] }
    rollout:
      canary: { tasks: "10%", hold: 90s }
  - name: plain
    match: { services: [c] }
`)
	cfg, err := Parse("t.yaml", b, env(fixtureEnv))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []*policy.Canary{
		{Tasks: 1, Hold: 10 * time.Minute},
		{Percent: 10, Hold: 90 * time.Second},
		nil,
	} {
		got := cfg.Policies[i].Rollout.Canary.Policy()
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("policy %d: %+v, want %+v", i, got, want)
		}
	}
}
