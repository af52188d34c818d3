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
}
