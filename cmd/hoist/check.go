package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
)

func newCheckCommand(getenv func(string) string) *cobra.Command {
	var c common
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "One pass, no changes: what each workload would move to, or why not",
		Long: `One pass, no changes: list every workload, its current image and digest, and the
digest or tag its policy would move it to, or why not.

When the config sets api.token and a hoist serve answers at listen:, that server does
the check (it holds the store, so quarantined digests and held approvals show).
When none answers, the check runs in this process. A server that refuses the token is
an error, not a reason to check elsewhere.`,
		Example: `  hoist check
  hoist check --config /etc/hoist/hoist.yaml --json | jq '.[] | select(.action == "update")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.Context(), c, asJSON, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.bind(cmd, getenv)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func runCheck(ctx context.Context, c common, asJSON bool, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := load(ctx, c, getenv)
	if err != nil {
		return err
	}
	// A running serve holds the store; ask it, so quarantined digests show too.
	sts, err := checkViaServer(ctx, cfg)
	var none *noServerError
	switch {
	case err == nil:
		fmt.Fprintf(stderr, "checked by the running hoist at %s\n", serverURL(cfg))
	case errors.Is(err, errAPIOff) || errors.As(err, &none):
		if none != nil {
			fmt.Fprintf(stderr, "note: %v; checking in this process\n", none)
		}
		if sts, err = checkLocally(ctx, cfg, stderr); err != nil {
			return err
		}
	default:
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sts)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tPOLICY\tIMAGE\tACTION\tTARGET / REASON")
	for _, st := range sts {
		detail := st.Target
		if st.Action != updater.WouldUpdate {
			detail = st.Reason
		}
		if st.Action == updater.UpToDate {
			detail = ""
		}
		if st.Choice != "" {
			detail = strings.TrimPrefix(detail+"; "+st.Choice, "; ")
		}
		pol := st.Policy
		if pol == "" {
			pol = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Workload.Key(), pol, st.Workload.Image, st.Action, detail)
	}
	return tw.Flush()
}

// checkViaServer asks a running hoist serve (GET /api/v1/workloads: a check that
// changes nothing). errAPIOff or a *noServerError say there is none to ask.
func checkViaServer(ctx context.Context, cfg *config.Config) ([]updater.Status, error) {
	a, err := newAPIClient(cfg, "", time.Second)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var sts []updater.Status
	return sts, a.get(ctx, "/api/v1/workloads", &sts)
}

// checkLocally runs the check in this process.
func checkLocally(ctx context.Context, cfg *config.Config, stderr io.Writer) ([]updater.Status, error) {
	set, plans, _, err := policies(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := connectDocker(ctx, cfg.Docker)
	if err != nil {
		return nil, err
	}
	defer dc.Close()
	// Without a running serve the store is free; if something else holds it, use a
	// scratch one (and say so) rather than fail.
	store, err := updater.OpenStore(cfg.DataDir, true)
	if err != nil {
		dir, derr := os.MkdirTemp("", "hoist-check")
		if derr != nil {
			return nil, derr
		}
		defer os.RemoveAll(dir)
		if !errors.Is(err, os.ErrNotExist) { // no store yet: nothing is quarantined
			fmt.Fprintf(stderr, "note: %v; quarantined digests are not shown\n", err)
		}
		if store, err = updater.OpenStore(dir, false); err != nil {
			return nil, err
		}
	}
	defer store.Close()
	u := updater.New(updater.Options{
		Backends: backends(ctx, dc, container.New(dc), zerolog.Nop()),
		Policies: set, Plans: plans, Resolver: newRegistry(cfg), Store: store,
		Log: newLogger(cfg.Log, stderr), Concurrency: cfg.Poll.Concurrency,
	})
	return u.Check(ctx, false, "check")
}
