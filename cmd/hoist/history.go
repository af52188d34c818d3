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

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/apiclient"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/internal/safetext"
	"github.com/hoist-dev/hoist/notify"
	"github.com/hoist-dev/hoist/updater"
)

// maxHistoryLimit is the most rollouts one history shows (the API's bound too).
const maxHistoryLimit = 1000

func newHistoryCommand(getenv func(string) string) *cobra.Command {
	var c common
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "history [KIND/NAME]",
		Short: "Recorded rollouts, newest first, with outcome and reason",
		Long: `List recorded rollouts, newest first: every workload's, or one's.

When the config sets api.token and a hoist serve answers at listen:, that server is
asked (it holds the store); when none answers, the store in data_dir is read. A server
that refuses the token is an error, not a reason to read elsewhere.`,
		Example: `  hoist history
  hoist history service/web --limit 5
  hoist history container/db --json`,
		Args:              workloadArg(true),
		ValidArgsFunction: completeWorkload,
		RunE: func(cmd *cobra.Command, args []string) error {
			key := ""
			if len(args) == 1 {
				key = args[0]
			}
			return runHistory(cmd.Context(), c, key, limit, asJSON, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.bind(cmd, getenv)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most this many (0 means 100)")
	return cmd
}

func runHistory(ctx context.Context, c common, key string, limit int, asJSON bool, getenv func(string) string, stdout, stderr io.Writer) error {
	if limit < 0 || limit > maxHistoryLimit {
		return badValue("--limit %d: write a count from 1 to %d (0 means 100)", limit, maxHistoryLimit)
	}
	cfg, err := load(ctx, c, getenv)
	if err != nil {
		return err
	}
	rs, err := historyViaServer(ctx, cfg, key, limit)
	var none *apiclient.NoServerError
	if errors.Is(err, apiclient.ErrAPIOff) || errors.As(err, &none) {
		// No server: the store is free to read.
		store, serr := app.OpenStore(cfg.DataDir, true)
		switch {
		case errors.Is(serr, os.ErrNotExist):
			rs, err = nil, nil // nothing recorded yet
		case serr != nil && none != nil:
			return fmt.Errorf("%v, and the store cannot be read: %w", none, serr)
		case serr != nil:
			return fmt.Errorf("read the store (%v): %w", err, serr)
		default:
			rs, err = store.Rollouts(key, limit)
			store.Close()
		}
	}
	if err != nil {
		return err
	}
	if asJSON {
		if rs == nil {
			rs = []updater.Rollout{}
		}
		return writeJSON(stdout, rs)
	}
	if len(rs) == 0 {
		fmt.Fprintln(stderr, "no rollouts recorded")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tWORKLOAD\tOUTCOME\tTOOK\tTO\tTRIGGER\tREASON")
	for _, r := range rs {
		took := "-"
		if !r.Ended.IsZero() {
			took = r.Ended.Sub(r.Started).Round(time.Second).String()
		}
		outcome := string(r.Outcome)
		if r.Outcome == updater.Running && r.Phase != "" {
			outcome += " (" + string(r.Phase) + ")" // how far it came
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"),
			cell(r.Workload), cell(outcome), took, cell(notify.ShortImage(r.To)), cell(r.Trigger), oneLine(r.Reason))
	}
	return tw.Flush()
}

// historyViaServer asks a running hoist serve (GET /api/v1/rollouts).
// apiclient.ErrAPIOff or a *apiclient.NoServerError say there is none to ask.
func historyViaServer(ctx context.Context, cfg *config.Config, key string, limit int) ([]updater.Rollout, error) {
	c, err := apiclient.ForConfig(cfg, "", time.Second)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return c.Rollouts(ctx, key, limit)
}

// oneLine keeps a table row on one line, and what it shows safe on a terminal.
func oneLine(s string) string {
	s = cell(strings.Join(strings.Fields(s), " "))
	if len(s) > 160 {
		s = strings.ToValidUTF8(s[:157], "") + "..."
	}
	return s
}

// cell is text from an engine, a registry or a server made safe for one table cell:
// control and bidi characters are shown as escapes (\x1b, \u202e), not obeyed.
func cell(s string) string { return safetext.Line(s) }

// writeJSON writes v indented, its strings' bidi and C1 characters escaped too
// (encoding/json escapes only the C0 ones).
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(safetext.JSON(b), '\n'))
	return err
}
