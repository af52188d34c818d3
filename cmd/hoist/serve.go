package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/ui"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
	"github.com/hoist-dev/hoist/webhook"
)

// shutdownGrace bounds how long serve waits for rollouts in flight after a signal.
const shutdownGrace = 5 * time.Minute

// serveFlags override the file.
type serveFlags struct {
	common
	listen, dataDir, dockerHost, pollEvery, logLevel string
	watchConfig                                      bool
}

func newServeCommand(getenv func(string) string) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run webhooks, API, poller and updater until SIGINT/SIGTERM",
		Long: `Run the HTTP server (webhooks, API), the poller and the updater until SIGINT or
SIGTERM. A rollout in flight at shutdown may end within a grace period; one that has
not is handed over, its record left running for the next hoist serve to resume; a
second signal ends hoist at once. The flags override the file, each checked as the
file's key is (a value the file would be refused for exits 2, with the same message).

SIGHUP reloads the file (--watch-config: also when it changes): policies, registries,
webhooks, notifications and limits change without a restart; a file with a problem is
refused and the running configuration kept (logged with its file:line, and in
GET /api/v1/config/status and hoist_config_last_reload_success).`,
		Example: `  hoist serve --config /etc/hoist/hoist.yaml
  hoist serve --listen :8080 --data-dir /data --poll-interval 5m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), f, getenv, cmd.ErrOrStderr())
		},
	}
	f.bind(cmd, getenv)
	fs := cmd.Flags()
	fs.StringVar(&f.listen, "listen", "", "address to listen on (overrides listen:)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory of the embedded store (overrides data_dir:)")
	cmd.MarkFlagDirname("data-dir")
	fs.StringVar(&f.dockerHost, "docker-host", "", "Docker host URL (overrides docker.host:)")
	fs.StringVar(&f.pollEvery, "poll-interval", "", "poll interval such as 30s or 5m, 0 = off (overrides poll.interval:)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level:)")
	fs.BoolVar(&f.watchConfig, "watch-config", false, "reload the configuration when the file changes (SIGHUP always reloads it)")
	cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]cobra.Completion{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runServe(ctx context.Context, f serveFlags, getenv func(string) string, stderr io.Writer) error {
	cfg, err := load(ctx, f.common, getenv)
	if err != nil {
		return err
	}
	if err := f.apply(cfg); err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	return serve(ctx, f, getenv, cfg, log)
}

// apply puts the flags given in place of the file's keys, each checked as the file's
// key is (config.Apply): a value the file would be refused for is a usage error, before
// anything is listened on, dialled or looked up.
func (f serveFlags) apply(cfg *config.Config) error {
	var given []config.Override
	for _, o := range []config.Override{
		{Flag: "--listen", Key: "listen", Value: f.listen},
		{Flag: "--data-dir", Key: "data_dir", Value: f.dataDir},
		{Flag: "--docker-host", Key: "docker.host", Value: f.dockerHost},
		{Flag: "--poll-interval", Key: "poll.interval", Value: f.pollEvery},
		{Flag: "--log-level", Key: "log.level", Value: f.logLevel},
	} {
		if o.Value != "" {
			given = append(given, o)
		}
	}
	if err := cfg.Apply(given); err != nil {
		return badValue("%v", err)
	}
	return nil
}

func serve(ctx context.Context, f serveFlags, getenv func(string) string, cfg *config.Config, log zerolog.Logger) error {
	set, plans, intervals, err := policies(cfg)
	if err != nil {
		return err
	}
	// SIGHUP is taken from the start: its default would end hoist.
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	var live atomic.Pointer[policy.Set] // the policies in force; a reload swaps them
	live.Store(set)
	dc, err := connectDocker(ctx, cfg.Docker)
	if err != nil {
		return err
	}
	defer dc.Close()
	store, err := openStore(cfg.DataDir, false)
	if err != nil {
		return err
	}
	defer store.Close()
	pruneHistory(store, cfg, log)

	cb := containerBackend(ctx, dc, cfg, &live, log)
	metrics := api.NewMetrics()
	reg := newLiveRegistry(newRegistry(cfg))
	// Notifications outlive the updater: rollouts that end during shutdown are reported.
	notifier := newNotifier(cfg, log.With().Str("component", "notify").Logger())
	nctx, stopNotify := context.WithCancel(context.WithoutCancel(ctx))
	notified := make(chan struct{})
	go func() { notifier.Run(nctx); close(notified) }()
	defer func() { stopNotify(); <-notified }()

	u := updater.New(updater.Options{
		Backends: backends(ctx, dc, container.WithWatchtower(cb, func(name string, labels map[string]string) *policy.Watchtower {
			return watchtowerOf(live.Load())(name, labels) // the policies in force
		}), log),
		Policies: set, Plans: plans, Resolver: reg, Store: store,
		Log: log.With().Str("component", "updater").Logger(), Concurrency: cfg.Poll.Concurrency,
		Count:    metrics.Inc,
		Observe:  metrics.Observe,
		Gauge:    metrics.Set,
		OnRecord: func(r updater.Rollout) { notifier.Send(notifyEvent(r)) },
	})
	sigReg := newLiveRegistry(newRegistry(cfg))
	u.SetSignatures(newSignatures(sigReg))

	var rl *reloader // set before the server serves
	e, hooks, wt := routes(ctx, cfg, u, store, reg, metrics, func() api.ConfigStatus { return rl.Status() }, log)
	rl = newReloader(f, getenv, cfg, intervals, liveParts{u: u, policies: &live, hooks: hooks, watchtower: wt, reg: reg, sigReg: sigReg, notifier: notifier},
		metrics, log.With().Str("component", "config").Logger())

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	announce(ln, cfg, log)

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
	rl.start(ctx, hup, f.watchConfig)

	select {
	case <-ctx.Done():
	case err := <-srvErr:
		return fmt.Errorf("http server: %w", err)
	}
	shutdown(e, &wg, log)
	return nil
}

// containerBackend builds the container backend. Recovery and pruning touch only
// containers the policies in force (live) govern. Rollouts a previous process left
// unfinished, and half-done swaps, are taken up by the updater before it serves any
// event for their workloads (updater/resume.go).
func containerBackend(ctx context.Context, dc *client.Client, cfg *config.Config, live *atomic.Pointer[policy.Set], log zerolog.Logger) *container.Backend {
	return container.New(dc, container.WithLogger(log.With().Str("component", "container").Logger()),
		container.WithImagePruning(cfg.Docker.PruneImages),
		container.WithSelf(container.Self(ctx, dc, log), container.Executable()),
		container.WithScope(func(name string, labels map[string]string) bool {
			r, _ := live.Load().For(policy.Container, name, labels)
			return r != nil
		}))
}

// routes builds the HTTP server: API, metrics, webhooks and, when on, the dashboard.
// It returns the webhook receivers too, for reloads to change their sources.
func routes(ctx context.Context, cfg *config.Config, u *updater.Updater, store *records, reg api.Budgeter, metrics *api.Metrics,
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
func housekeep(ctx context.Context, current func() *config.Config, cb *container.Backend, store *records, log zerolog.Logger) {
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
func announce(ln net.Listener, cfg *config.Config, log zerolog.Logger) {
	log.Info().Str("listen", ln.Addr().String()).Str("version", version).Int("policies", len(cfg.Policies)).
		Dur("poll", cfg.Poll.Interval.D()).Msg("hoist serving")
	if cfg.UIOn() {
		log.Info().Str("path", cfg.UI.BasePath).Bool("anonymous_read", cfg.UI.AnonymousRead).Msg("dashboard mounted")
	}
	for _, n := range notMounted(cfg) {
		log.Info().Msg(n)
	}
}
