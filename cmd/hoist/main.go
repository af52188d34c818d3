// Command hoist keeps Docker Swarm services and standalone containers on the newest
// image their policy allows, with health-watched rollouts and automatic rollback.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	// Policies name time zones; the image has no zoneinfo of its own.
	_ "time/tzdata"

	"github.com/hoist-dev/hoist/internal/safetext"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal ends ctx; from then on a signal has its default effect, so a
	// second one ends hoist at once whatever it waits on.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Usage and validation problems were printed already.
		if !errors.Is(err, errUsage) && !errors.Is(err, errInvalid) {
			fmt.Fprintln(os.Stderr, "hoist:", safetext.Text(err.Error()))
		}
		os.Exit(exitCode(err))
	}
}
