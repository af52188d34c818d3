package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/ui"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
	"github.com/hoist-dev/hoist/webhook"
)

// shutdownGrace bounds how long Serve waits for rollouts in flight after ctx ended.
const shutdownGrace = 5 * time.Minute

// Options is what Serve needs beside the configuration.
type Options struct {
	// File is the configuration file, named in logs and GET /api/v1/config/status.
	File string
	// Load reads and checks the configuration again, as at start (the same file, the
	// same flags put over it), for a reload. Nil: reloads are refused.
	Load func(ctx context.Context) (*config.Config, error)
	// WatchConfig reloads when File's content changes (SIGHUP always reloads).
	WatchConfig bool
	// Version is announced at start.
	Version string
	Log     zerolog.Logger
}

// Serve runs hoist with cfg until ctx ends: the HTTP server (webhooks, API, metrics,
// dashboard), the updater (which first resumes what a previous process left
// unfinished), the poller, housekeeping and reloads. Then it lets the rollouts in
// flight end within a grace period and returns.
func Serve(ctx context.Context, cfg *config.Config, o Options) error {
	log := o.Log
	set, plans, intervals, err := Policies(cfg)
	if err != nil {
		return err
	}
	// SIGHUP is taken from the start: its default would end hoist.
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	var live atomic.Pointer[policy.Set] // the policies in force; a reload swaps them
	live.Store(set)
	dc, err := ConnectDocker(ctx, cfg.Docker)
	if err != nil {
		return err
	}
	defer dc.Close()
	store, err := OpenStore(cfg.DataDir, false)
	if err != nil {
		return err
	}
	defer store.Close()
	pruneHistory(store, cfg, log)

	cb := containerBackend(ctx, dc, cfg, &live, log)
	metrics := api.NewMetrics()
	reg := newLiveRegistry(NewRegistry(cfg))
	// Notifications outlive the updater: rollouts that end during shutdown are reported.
	notifier := newNotifier(cfg, log.With().Str("component", "notify").Logger())
	nctx, stopNotify := context.WithCancel(context.WithoutCancel(ctx))
	notified := make(chan struct{})
	go func() { notifier.Run(nctx); close(notified) }()
	defer func() { stopNotify(); <-notified }()

	cs := container.WithWatchtower(cb, func(name string, labels map[string]string) *policy.Watchtower {
		return watchtowerOf(live.Load())(name, labels) // the policies in force
	})
	sigReg := newLiveRegistry(NewRegistry(cfg))
	u := newUpdater(parts{cfg: cfg, set: set, plans: plans, backends: backends(ctx, dc, cs, log), resolver: reg, store: store,
		sigReg: sigReg, metrics: metrics, log: log.With().Str("component", "updater").Logger(),
		onRecord: func(r updater.Rollout) { notifier.Send(notifyEvent(r)) }})

	var rl *reloader // set before the server serves
	e, hooks, wt := routes(ctx, cfg, u, store, reg, metrics, func() api.ConfigStatus { return rl.Status() }, log)
	rl = newReloader(o.File, o.Load, cfg, intervals, liveParts{u: u, policies: &live, hooks: hooks, watchtower: wt, reg: reg, sigReg: sigReg, notifier: notifier},
		metrics, log.With().Str("component", "config").Logger())

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	announce(ln, cfg, o.Version, log)

	var wg sync.WaitGroup
	srvErr := make(chan error, 1)
	go func() {
		if err := e.Server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			srvErr <- err
		}
	}()
	wg.Add(2)
	go func() { defer wg.Done(); u.Run(ctx) }()
	go func() { defer wg.Done(); u.Poll(ctx, cfg.Poll.Interval.D(), intervals, cfg.Poll.Jitter.D()) }()
	go housekeep(ctx, rl.current, cb, store, log)
	rl.start(ctx, hup, o.WatchConfig)

	select {
	case <-ctx.Done():
	case err := <-srvErr:
		return fmt.Errorf("http server: %w", err)
	}
	shutdown(e, &wg, log)
	return nil
}

// routes builds the HTTP server: API, metrics, webhooks and, when on, the dashboard.
// It returns the webhook receivers too, for reloads to change their sources.
func routes(ctx context.Context, cfg *config.Config, u *updater.Updater, store *Store, reg api.Budgeter, metrics *api.Metrics,
	status func() api.ConfigStatus, log zerolog.Logger) (*echo.Echo, *webhook.Server, *webhook.Watchtower) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Bodies are small and must arrive promptly; answers may take long (a manual
	// rollback waits for convergence), so there is no write timeout.
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = 30 * time.Second
	e.Server.IdleTimeout = 2 * time.Minute
	api.New(ctx, u, cfg.API.Token.Value(), metrics).WithBudget(reg).WithConfigStatus(status).Register(e)
	hooks := webhook.New(cfg.Webhooks, u, log.With().Str("component", "webhook").Logger(), webhook.WithCount(metrics.Inc))
	hooks.Register(e)
	wt := webhook.NewWatchtower(cfg.Webhooks, u, checkAllSoon(ctx, u, log), log.With().Str("component", "webhook").Logger(), webhook.WithCount(metrics.Inc))
	wt.Register(e)
	if cfg.UIOn() {
		ui.New(ctx, u, store, ui.Options{BasePath: cfg.UI.BasePath, Token: cfg.API.Token.Value(), AnonymousRead: cfg.UI.AnonymousRead,
			SessionTTL: cfg.UI.SessionTTL.D(), SessionFile: filepath.Join(cfg.DataDir, "ui-sessions.json"),
			TrustedProxies: cfg.UI.TrustedProxies, Count: metrics.Inc, Log: log.With().Str("component", "ui").Logger()}).Register(e)
	}
	return e, hooks, wt
}

// housekeep prunes expired previous containers, old digest sightings and history every
// minute until ctx ends.
func housekeep(ctx context.Context, current func() *config.Config, cb *container.Backend, store *Store, log zerolog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := cb.Prune(ctx); err != nil {
				log.Warn().Err(err).Msg("prune expired previous containers")
			}
			cfg := current()
			if _, err := store.ForgetSeen(time.Now().Add(-seenKept(cfg))); err != nil {
				log.Warn().Err(err).Msg("forget old digest sightings")
			}
			pruneHistory(store, cfg, log)
		}
	}
}

// shutdown closes the server and waits, up to shutdownGrace, for the updater and poller
// (wg) to finish the rollouts in flight.
func shutdown(e *echo.Echo, wg *sync.WaitGroup, log zerolog.Logger) {
	log.Info().Msg("shutting down: finishing rollouts in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.Server.Shutdown(sctx)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		log.Error().Msg("rollouts still running after the shutdown grace period")
	}
	log.Info().Msg("stopped")
}

// seenKept is how long hoist remembers when it first saw a digest: well past the
// longest min_age, so a digest's age is never reset while a policy waits on it.
func seenKept(cfg *config.Config) time.Duration {
	keep := 30 * 24 * time.Hour
	for _, p := range cfg.Policies {
		keep = max(keep, 2*p.When.MinAge.D())
	}
	return keep
}

// announce logs what this hoist serves and where.
func announce(ln net.Listener, cfg *config.Config, version string, log zerolog.Logger) {
	log.Info().Str("listen", ln.Addr().String()).Str("version", version).Int("policies", len(cfg.Policies)).
		Dur("poll", cfg.Poll.Interval.D()).Msg("hoist serving")
	if cfg.UIOn() {
		log.Info().Str("path", cfg.UI.BasePath).Bool("anonymous_read", cfg.UI.AnonymousRead).Msg("dashboard mounted")
	}
	for _, n := range NotMounted(cfg) {
		log.Info().Msg(n)
	}
}

// NotMounted says which optional endpoints are off, so a user isn't surprised.
func NotMounted(cfg *config.Config) []string {
	var out []string
	if !cfg.API.Token.IsSet() {
		out = append(out, "api.token is not set: /api/v1 is not mounted")
	}
	if cfg.Poll.Interval == 0 {
		out = append(out, "poll.interval is 0: polling is off, only webhooks trigger updates")
	}
	return out
}
