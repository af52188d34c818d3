package app

import (
	"github.com/hoist-dev/hoist/gate"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// newGate is the metric gate a policy's gate spec asks (Prometheus).
func newGate(g policy.Gate) (updater.Gate, error) { return gate.New(g) }
