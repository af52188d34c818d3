// Command hoist keeps Docker Swarm services and standalone containers on the newest
// image their policy allows, with health-watched rollouts and automatic rollback.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
		os.Exit(report(os.Stderr, err))
	}
}

// report prints err on stderr, its control and bidi characters escaped, unless it was
// printed already (usage and validation problems), and returns the exit code.
func report(stderr io.Writer, err error) int {
	if !errors.Is(err, errUsage) && !errors.Is(err, errInvalid) {
		fmt.Fprintln(stderr, "hoist:", safetext.Text(err.Error()))
	}
	return exitCode(err)
}
