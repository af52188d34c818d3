package main

import (
	"context"
	"io"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/app"
)

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
	return app.Serve(ctx, cfg, f.options(getenv, app.NewLogger(cfg.Log, stderr)))
}

// options is what app.Serve needs beside the configuration: a reload reads the same
// file and puts the same flags over it.
func (f serveFlags) options(getenv func(string) string, log zerolog.Logger) app.Options {
	return app.Options{File: f.config, WatchConfig: f.watchConfig, Version: version, Log: log,
		Load: func(ctx context.Context) (*config.Config, error) {
			cfg, err := load(ctx, f.common, getenv)
			if err == nil {
				err = f.apply(cfg)
			}
			return cfg, err
		}}
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
