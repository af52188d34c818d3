package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
	"github.com/hoist-dev/hoist/webhook"
)

// shutdownGrace bounds how long serve waits for rollouts in flight after a signal.
const shutdownGrace = 5 * time.Minute

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("serve", "Run the HTTP server (webhooks, API), the poller and the updater until SIGINT or\nSIGTERM. A rollout in flight at shutdown is finished or rolled back, never abandoned.", stderr)
	c.bind(fs, getenv)
	listen := fs.String("listen", "", "address to listen on (overrides listen:)")
	dataDir := fs.String("data-dir", "", "directory of the embedded store (overrides data_dir:)")
	dockerHost := fs.String("docker-host", "", "Docker host URL (overrides docker.host:)")
	pollEvery := fs.String("poll-interval", "", "poll interval such as 30s or 5m, 0 = off (overrides poll.interval:)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (overrides log.level:)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := load(c.config, getenv)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *dockerHost != "" {
		cfg.Docker.Host = *dockerHost
	}
	if *pollEvery != "" {
		var d config.Duration
		if err := d.UnmarshalYAML([]byte(*pollEvery)); err != nil {
			return fmt.Errorf("--poll-interval: %w", err)
		}
		cfg.Poll.Interval = d
	}
	if *logLevel != "" {
		switch *logLevel {
		case "debug", "info", "warn", "error":
			cfg.Log.Level = *logLevel
		default:
			return fmt.Errorf("--log-level %q: use debug, info, warn or error", *logLevel)
		}
	}
	log := newLogger(cfg.Log, stderr)
	return serve(ctx, cfg, log)
}

func serve(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	set, plans, intervals, err := policies(cfg)
	if err != nil {
		return err
	}
	dc, err := connectDocker(ctx, cfg.Docker)
	if err != nil {
		return err
	}
	defer dc.Close()
	store, err := updater.OpenStore(cfg.DataDir, false)
	if err != nil {
		return err
	}
	defer store.Close()
	pruneHistory(store, cfg, log)

	// Recovery and pruning touch only containers this hoist's policies govern. Rollouts
	// a previous process left unfinished, and half-done swaps, are taken up by the
	// updater before it serves any event for their workloads (updater/resume.go).
	cb := container.New(dc, container.WithLogger(log.With().Str("component", "container").Logger()),
		container.WithImagePruning(cfg.Docker.PruneImages),
		container.WithScope(func(name string, labels map[string]string) bool {
			r, _ := set.For(policy.Container, name, labels)
			return r != nil
		}))
	metrics := api.NewMetrics()
	reg := newRegistry(cfg)
	// Notifications outlive the updater: rollouts that end during shutdown are reported.
	notifier := newNotifier(cfg, log.With().Str("component", "notify").Logger())
	nctx, stopNotify := context.WithCancel(context.WithoutCancel(ctx))
	notified := make(chan struct{})
	go func() { notifier.Run(nctx); close(notified) }()
	defer func() { stopNotify(); <-notified }()

	u := updater.New(updater.Options{
		Backends: backends(ctx, dc, cb, log),
		Policies: set, Plans: plans, Resolver: reg, Store: store,
		Log: log.With().Str("component", "updater").Logger(), Concurrency: cfg.Poll.Concurrency,
		Count:    metrics.Inc,
		Observe:  metrics.Observe,
		Gauge:    metrics.Set,
		OnRecord: func(r updater.Rollout) { notifier.Send(notifyEvent(r)) },
	})

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Bodies are small and must arrive promptly; answers may take long (a manual
	// rollback waits for convergence), so there is no write timeout.
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = 30 * time.Second
	e.Server.IdleTimeout = 2 * time.Minute
	api.New(ctx, u, cfg.API.Token.Value(), metrics).WithBudget(reg).Register(e)
	webhook.New(cfg.Webhooks, u, log.With().Str("component", "webhook").Logger(), webhook.WithCount(metrics.Inc)).Register(e)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	log.Info().Str("listen", ln.Addr().String()).Str("version", version).Int("policies", len(cfg.Policies)).
		Dur("poll", cfg.Poll.Interval.D()).Msg("hoist serving")
	for _, n := range notMounted(cfg) {
		log.Info().Msg(n)
	}

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
	go func() {
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
				if _, err := store.ForgetSeen(time.Now().Add(-seenKept(cfg))); err != nil {
					log.Warn().Err(err).Msg("forget old digest sightings")
				}
				pruneHistory(store, cfg, log)
			}
		}
	}()

	select {
	case <-ctx.Done():
	case err := <-srvErr:
		return fmt.Errorf("http server: %w", err)
	}
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
	return nil
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
