package policy

import "time"

// Gate is a metric gate: a Prometheus query (an instant vector, an error ratio say)
// whose every sample must stay below Below while a digest soaks in an earlier stage
// before this policy's workloads get it, and during a canary's hold. Checked every
// Every.
type Gate struct {
	URL   string
	Query string
	Below float64
	Every time.Duration
}

// DefaultGateEvery is how often a gate is asked when its policy sets no every.
const DefaultGateEvery = 30 * time.Second
