package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/apiclient"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/updater"
)

func newCheckCommand(getenv func(string) string) *cobra.Command {
	var c common
	var v checkView
	cmd := &cobra.Command{
		Use:   "check",
		Short: "One pass, no changes: what each workload would move to, or why not",
		Long: `One pass, no changes: list the workloads a policy governs, their current image and
digest, and the digest or tag the policy would move each to, or why not. --all lists
the others too, each with why no policy takes it (opted out, a label a policy wants,
or no glob that matches its name).

On a terminal, digests are cut to their first 12 hex digits; --wide, --json and
output to a pipe or file keep them whole.

When the config sets api.token and a hoist serve answers at listen:, that server does
the check (it holds the store, so quarantined digests and held approvals show).
When none answers, the check runs in this process. A server that refuses the token is
an error, not a reason to check elsewhere.`,
		Example: `  hoist check
  hoist check --all --wide
  hoist check --config /etc/hoist/hoist.yaml --json | jq '.[] | select(.action == "update")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v.short = !v.wide && isTerminal(cmd.OutOrStdout())
			return runCheck(cmd.Context(), c, v, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.bind(cmd, getenv)
	cmd.Flags().BoolVar(&v.json, "json", false, "print JSON instead of a table (digests whole)")
	cmd.Flags().BoolVar(&v.all, "all", false, "list workloads no policy governs too, with why")
	cmd.Flags().BoolVar(&v.wide, "wide", false, "print digests whole on a terminal too")
	return cmd
}

func runCheck(ctx context.Context, c common, v checkView, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := load(ctx, c, getenv)
	if err != nil {
		return err
	}
	// A running serve holds the store; ask it, so quarantined digests show too.
	sts, err := checkViaServer(ctx, cfg)
	var none *apiclient.NoServerError
	switch {
	case err == nil:
		fmt.Fprintf(stderr, "checked by the running hoist at %s\n", apiclient.ServerURL(cfg))
	case errors.Is(err, apiclient.ErrAPIOff) || errors.As(err, &none):
		if none != nil {
			fmt.Fprintf(stderr, "note: %v; checking in this process\n", none)
		}
		if sts, err = app.Check(ctx, cfg, stderr); err != nil {
			return err
		}
	default:
		return err
	}
	return v.print(stdout, stderr, sts)
}

// checkViaServer asks a running hoist serve (GET /api/v1/workloads: a check that
// changes nothing). apiclient.ErrAPIOff or a *apiclient.NoServerError say there is none to ask.
func checkViaServer(ctx context.Context, cfg *config.Config) ([]updater.Status, error) {
	c, err := apiclient.ForConfig(cfg, "", time.Second)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var sts []updater.Status
	return sts, c.Get(ctx, "/api/v1/workloads", &sts)
}
