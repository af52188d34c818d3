package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/apiclient"
	"github.com/hoist-dev/hoist/updater"
)

// manualAction is one of the commands that ask the running server to act on a
// workload, so the action is serialised with rollouts and recorded.
type manualAction struct {
	name, short, long, example string
	method, path               string // path after /api/v1/workloads/KIND/NAME
}

var manualActions = []manualAction{
	{name: "rollback", method: http.MethodPost, path: "/rollback",
		short: "Return a workload to its previous image (asks the running server)",
		long: `Return a workload to the image it had before its last rollout. For a container the
kept previous container comes back; for a service Swarm's previous spec is restored.`,
		example: "  hoist rollback service/web\n  hoist rollback container/db --config /etc/hoist/hoist.yaml"},
	{name: "finish", method: http.MethodPost, path: "/finish",
		short:   "Drop the previous container kept for rollback",
		long:    `Drop the previous container kept for a manual rollback (Rancher's finish upgrade).`,
		example: "  hoist finish container/db"},
	{name: "approve", method: http.MethodPost, path: "/approve",
		short: "Let an update held by when.approve roll out",
		long: `Let the update held by a policy with when.approve roll out: the digest hoist check
shows for the workload (all containers of its group with it). With --digest, the
approval is refused if another digest than the one reviewed is waiting now.`,
		example: "  hoist check\n  hoist approve service/web --digest sha256:…"},
	{name: "retry", method: http.MethodDelete, path: "/quarantine",
		short: "Let digests that failed (quarantined) be tried again, now",
		long: `Let the digests that failed for a workload (quarantined) be tried again: the next
check or push rolls the newest one out.`,
		example: "  hoist retry service/web"},
}

func newManualCommands(getenv func(string) string) []*cobra.Command {
	cmds := make([]*cobra.Command, len(manualActions))
	for i, m := range manualActions {
		var c common
		var server, digest string
		cmd := &cobra.Command{
			Use:   m.name + " KIND/NAME",
			Short: m.short,
			Long: m.long + `

The running hoist serve does the work; its address (listen:) and API token (api.token:)
come from the config file. A refused token or an unreachable server is an error.`,
			Example:           m.example,
			Args:              workloadArg(false),
			ValidArgsFunction: completeWorkload,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runManual(cmd.Context(), m, args[0], c, server, digest, getenv, cmd.OutOrStdout())
			},
		}
		c.bind(cmd, getenv)
		cmd.Flags().StringVar(&server, "server", "", "base URL of the running hoist (default: from listen:)")
		if m.name == "approve" {
			cmd.Flags().StringVar(&digest, "digest", "", "the digest reviewed (sha256:…); refused if a newer one is waiting now")
		}
		cmds[i] = cmd
	}
	return cmds
}

func runManual(ctx context.Context, m manualAction, key string, c common, server, digest string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := load(ctx, c, getenv)
	if err != nil {
		return err
	}
	a, err := apiclient.ForConfig(cfg, server, 10*time.Second)
	if errors.Is(err, apiclient.ErrAPIOff) {
		return fmt.Errorf("api.token is not set in %s: the API is off, so %s cannot reach the server", c.config, m.name)
	}
	if err != nil {
		return err
	}
	url := apiclient.WorkloadPath(key, m.path, digest) // splitKey checked key
	ctx, cancel := context.WithTimeout(ctx, 11*time.Minute)
	defer cancel()
	b, err := a.Do(ctx, m.method, url)
	var none *apiclient.NoServerError
	var refused *apiclient.TokenRefusedError
	switch {
	case errors.As(err, &none):
		return fmt.Errorf("%s %s: is hoist serve running? %w", m.name, key, err)
	case errors.As(err, &refused):
		return err
	case err != nil:
		return fmt.Errorf("%s %s: %w", m.name, key, err)
	}
	switch m.name {
	case "retry":
		var res struct {
			Cleared int `json:"cleared"`
		}
		json.Unmarshal(b, &res)
		fmt.Fprintf(stdout, "%s: %d failed digest(s) may be tried again\n", key, res.Cleared)
		return nil
	case "approve":
		var st updater.Status
		if json.Unmarshal(b, &st) == nil {
			next := "rolling out now"
			if st.Action == updater.Deferred {
				next = st.Reason
			}
			fmt.Fprintf(stdout, "approved %s for %s: %s\n", cell(st.Target), key, oneLine(next))
			return nil
		}
	}
	fmt.Fprintf(stdout, "%s %s: done\n", m.name, key)
	return nil
}
