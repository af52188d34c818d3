package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/gate"
	"github.com/hoist-dev/hoist/policy"
)

// canaryGate asks a policy's metric gate through a canary's hold: every its every, and
// once more after the hold ended — the hold passes only on a reading taken after it. A
// reading at or above the threshold fails the canary; a gate that cannot be asked holds
// it (until the rollout's deadline), asked again at its next turn.
type canaryGate struct {
	g     *gate.Prometheus
	every time.Duration
	next  time.Time
	asked time.Time
	// passed is when the latest reading passed; last says it.
	passed time.Time
	last   string
	log    zerolog.Logger
}

// newCanaryGate is nil when the plan has no gate.
func newCanaryGate(spec *policy.Gate, log zerolog.Logger) (*canaryGate, error) {
	if spec == nil {
		return nil, nil
	}
	g, err := gate.New(*spec)
	if err != nil {
		return nil, err
	}
	every := spec.Every
	if every <= 0 {
		every = policy.DefaultGateEvery
	}
	return &canaryGate{g: g, every: every, log: log}, nil
}

// check asks the gate when its turn came, or at once when the hold has ended and no
// reading since passed. failed names the query and its value when it crossed.
func (c *canaryGate) check(ctx context.Context, holdEnd time.Time) (failed string) {
	if c == nil {
		return ""
	}
	now := time.Now()
	owed := !now.Before(holdEnd) && c.passed.Before(holdEnd) && now.Sub(c.asked) >= gateRetry
	if now.Before(c.next) && !owed {
		return ""
	}
	c.asked, c.next = now, now.Add(c.every)
	ok, reason, err := c.g.Check(ctx)
	switch {
	case err != nil:
		c.log.Warn().Err(err).Msg("metric gate not answered; the canary holds until it is")
		c.last = err.Error()
	case !ok:
		return "metric gate crossed: " + reason
	default:
		c.passed, c.last = now, reason
	}
	return ""
}

// gateRetry is how soon a gate is asked again once the hold ended without a passing
// reading since.
const gateRetry = 5 * time.Second

// passedSince reports whether a reading taken at or after t passed.
func (c *canaryGate) passedSince(t time.Time) bool { return c == nil || !c.passed.Before(t) }

// note says the latest reading, for the canary's verdict.
func (c *canaryGate) note() string {
	if c == nil || c.last == "" {
		return ""
	}
	return fmt.Sprintf(", metric gate: %s", c.last)
}
