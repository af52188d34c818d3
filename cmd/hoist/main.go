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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Usage and validation problems were printed already.
		if !errors.Is(err, errUsage) && !errors.Is(err, errInvalid) {
			fmt.Fprintln(os.Stderr, "hoist:", err)
		}
		os.Exit(exitCode(err))
	}
}
