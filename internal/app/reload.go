package app

import (
	"context"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/notify"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/webhook"
)

// Reload metrics: whether the last reload succeeded (1 at start) and when the
// configuration in force was loaded, as Prometheus and Alertmanager name theirs.
const (
	reloadSuccessMetric = "hoist_config_last_reload_success"
	reloadTimeMetric    = "hoist_config_last_reload_success_timestamp_seconds"
)

// liveParts are what a reload changes in place, each by an atomic swap: deliveries,
// events and rollouts in flight finish under what they started with.
type liveParts struct {
	u *updater.Updater
	// policies is the set the container backend's scope and its Watchtower labels read.
	policies   *atomic.Pointer[policy.Set]
	hooks      *webhook.Server
	watchtower *webhook.Watchtower // nil when not mounted at start
	reg        *liveRegistry
	sigReg     *liveRegistry // the signature reader's client (nil in tests without one)
	notifier   *notify.Notifier
}

// reloader applies an edited configuration file to a running hoist: read and
// validated as at start (the same load, the same flags put over it), then put in force
// whole, or refused whole with the running configuration kept.
type reloader struct {
	file    string
	load    func(context.Context) (*config.Config, error)
	log     zerolog.Logger
	metrics *api.Metrics
	parts   liveParts

	mu        sync.Mutex
	cfg       *config.Config           // in force
	intervals map[string]time.Duration // in force: the poller holds them
	status    api.ConfigStatus
}

func newReloader(file string, load func(context.Context) (*config.Config, error), cfg *config.Config, intervals map[string]time.Duration,
	parts liveParts, metrics *api.Metrics, log zerolog.Logger) *reloader {
	now := time.Now()
	metrics.Set(reloadSuccessMetric, 1)
	metrics.Set(reloadTimeMetric, float64(now.Unix()))
	return &reloader{file: file, load: load, log: log, metrics: metrics, parts: parts, cfg: cfg, intervals: intervals,
		status: api.ConfigStatus{File: file, Loaded: now}}
}

// current returns the configuration in force.
func (r *reloader) current() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// Status returns the file in force and how its last reload went.
func (r *reloader) Status() api.ConfigStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status
	if st.LastReload != nil {
		lr := *st.LastReload
		st.LastReload = &lr
	}
	return st
}

// reload reads the file again and puts it in force; trigger says why (sighup,
// file-changed). A file with a problem changes nothing: the problems are logged with
// their file:line, and the metrics and Status say the reload failed.
func (r *reloader) reload(ctx context.Context, trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	res := &api.ConfigReload{At: start, Trigger: trigger}
	r.status.LastReload = res
	cfg, err := r.load(ctx)
	var (
		set       *policy.Set
		plans     map[string]updater.Plan
		intervals map[string]time.Duration
	)
	if err == nil {
		set, plans, intervals, err = Policies(cfg)
	}
	if err != nil {
		res.Error = err.Error()
		r.metrics.Set(reloadSuccessMetric, 0)
		r.log.Error().Err(err).Str("file", r.file).Str("trigger", trigger).
			Msg("configuration not reloaded: the file has problems; the running configuration is kept")
		return err
	}
	restart := restartKeys(r.cfg, cfg)
	if !maps.Equal(r.intervals, intervals) {
		restart = append(restart, "policies[].interval")
	}
	p := r.parts
	p.u.SetPolicies(set, plans)
	p.policies.Store(set)
	p.hooks.Reload(cfg.Webhooks)
	if !p.watchtower.Reload(cfg.Webhooks) {
		restart = append(restart, "webhooks.watchtower")
	}
	if !reflect.DeepEqual(r.cfg.Registries, cfg.Registries) {
		p.reg.swap(NewRegistry(cfg))
		if p.sigReg != nil {
			p.sigReg.swap(NewRegistry(cfg))
		}
	}
	p.notifier.SetSinks(notifySinks(cfg, r.log))
	r.cfg = keepRunning(r.cfg, cfg)

	res.Success, res.NeedsRestart = true, restart
	r.status.Loaded = start
	r.metrics.Set(reloadSuccessMetric, 1)
	r.metrics.Set(reloadTimeMetric, float64(start.Unix()))
	r.log.Info().Str("file", r.file).Str("trigger", trigger).Int("policies", len(cfg.Policies)).
		Dur("took", time.Since(start)).Msg("configuration reloaded")
	if len(restart) > 0 {
		r.log.Warn().Strs("keys", restart).
			Msg("changed in the file, but a reload does not apply them: the running values are kept until hoist restarts")
	}
	return nil
}

// restartKeys names the sections of next that differ from running and that only a
// restart applies: what listens, where the store is, the engine, the API and dashboard
// (mounted at start), polling, logging and history retention.
func restartKeys(running, next *config.Config) []string {
	var keys []string
	for _, k := range []struct {
		key  string
		a, b any
	}{
		{"listen", running.Listen, next.Listen},
		{"data_dir", running.DataDir, next.DataDir},
		{"docker", running.Docker, next.Docker},
		{"api", running.API, next.API},
		{"ui", running.UI, next.UI},
		{"poll", running.Poll, next.Poll},
		{"log", running.Log, next.Log},
		{"history", running.History, next.History},
	} {
		if !reflect.DeepEqual(k.a, k.b) {
			keys = append(keys, k.key)
		}
	}
	return keys
}

// keepRunning is next with the sections only a restart applies as they run now.
func keepRunning(running, next *config.Config) *config.Config {
	c := *next
	c.Listen, c.DataDir, c.Docker, c.API, c.UI = running.Listen, running.DataDir, running.Docker, running.API, running.UI
	c.Poll, c.Log, c.History = running.Poll, running.Log, running.History
	return &c
}
