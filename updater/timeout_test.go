package updater

import (
	"testing"
	"time"

	"github.com/hoist-dev/hoist/policy"
)

func TestTimeoutOrDefault(t *testing.T) {
	if policy.DefaultTimeout != 5*time.Minute {
		t.Errorf("default %s, want the documented 5m (README: health.timeout)", policy.DefaultTimeout)
	}
	if got := (Plan{}).TimeoutOrDefault(); got != policy.DefaultTimeout {
		t.Errorf("no timeout: %s, want %s", got, policy.DefaultTimeout)
	}
	if got := (Plan{Timeout: 90 * time.Second}).TimeoutOrDefault(); got != 90*time.Second {
		t.Errorf("90s plan: %s", got)
	}
	// A canary's hold comes on top.
	if got := (Plan{Timeout: 90 * time.Second, Canary: &policy.Canary{Tasks: 1, Hold: time.Minute}}).TimeoutOrDefault(); got != 150*time.Second {
		t.Errorf("90s plan with a 1m canary: %s", got)
	}
	if got := (Plan{Canary: &policy.Canary{Tasks: 1, Hold: time.Minute}}).TimeoutOrDefault(); got != policy.DefaultTimeout+time.Minute {
		t.Errorf("no timeout, 1m canary: %s", got)
	}
}
