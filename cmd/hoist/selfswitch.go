package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
)

// runSelfSwitch is the program of the switcher container hoist starts to roll out a new
// image of its own container (updater/container/selfswitch.go). Its exit code and its
// last line are the verdict the next hoist reads.
func runSelfSwitch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("self-switch", "Stop the old hoist container, start the new one and watch it; bring the old one back if it fails.", stderr)
	host := fs.String("docker-host", "", "Docker host URL")
	var sp container.SwitchSpec
	fs.StringVar(&sp.Name, "name", "", "name of hoist's container")
	fs.StringVar(&sp.Old, "old", "", "ID of the old hoist container")
	fs.StringVar(&sp.New, "new", "", "ID of the new hoist container")
	fs.DurationVar(&sp.Watch, "watch", time.Minute, "how long the new hoist must stay up")
	fs.DurationVar(&sp.Timeout, "timeout", policy.DefaultTimeout, "how long the new hoist may take to become healthy")
	port := fs.Int("probe-port", 0, "HTTP probe port (0: none)")
	path := fs.String("probe-path", "/", "HTTP probe path")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sp.Name == "" || sp.Old == "" || sp.New == "" {
		fmt.Fprintln(stderr, "hoist self-switch: --name, --old and --new are required")
		return errUsage
	}
	if *port > 0 {
		sp.Probe = &updater.HTTPProbe{Port: *port, Path: *path}
	}
	opts := []client.Opt{client.FromEnv}
	if *host != "" {
		opts = append(opts, client.WithHost(*host))
	}
	dc, err := client.New(opts...)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer dc.Close()
	log := zerolog.New(stderr).With().Timestamp().Str("component", "self-switch").Logger()
	err = container.New(dc, container.WithLogger(log)).Switch(ctx, sp)
	fmt.Fprintln(stdout, container.Verdict(err))
	return err
}
