package app

import (
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/verify"
)

// parts is what an updater is built from.
type parts struct {
	cfg      *config.Config
	set      *policy.Set
	plans    map[string]updater.Plan
	backends []updater.Backend
	resolver updater.Resolver
	store    updater.Records
	// sigReg is the registry client signatures are read through.
	sigReg verify.Registry
	// metrics, when set, counts what the updater does.
	metrics  *api.Metrics
	onRecord func(updater.Rollout)
	log      zerolog.Logger
}

// newUpdater is the one place hoist's updater is built (serve and check).
func newUpdater(p parts) *updater.Updater {
	o := updater.Options{
		Backends: p.backends, Policies: p.set, Plans: p.plans, Resolver: p.resolver, Store: p.store,
		Log: p.log, Concurrency: p.cfg.Poll.Concurrency, OnRecord: p.onRecord,
	}
	if p.metrics != nil {
		o.Count, o.Observe, o.Gauge = p.metrics.Inc, p.metrics.Observe, p.metrics.Set
	}
	u := updater.New(o)
	u.SetSignatures(newSignatures(p.sigReg))
	u.UseGates(newGate)
	return u
}
