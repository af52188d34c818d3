package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hoist-dev/hoist/notify"
	"github.com/hoist-dev/hoist/updater"
)

func runHistory(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("history [KIND/NAME]", "List recorded rollouts, newest first: every workload's, or one's. Asks the running\nhoist serve when it answers, else reads the store in data_dir.", stderr)
	c.bind(fs, getenv)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	limit := fs.Int("limit", 20, "show at most this many (0 means 100)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	key := ""
	switch fs.NArg() {
	case 0:
	case 1:
		var err error
		if key, err = splitKey(fs.Arg(0)); err != nil {
			return err
		}
	default:
		fs.Usage()
		return errUsage
	}
	if *limit < 0 {
		return fmt.Errorf("--limit %d: write a count of 1 or more", *limit)
	}
	cfg, err := load(c.config, getenv)
	if err != nil {
		return err
	}
	var rs []updater.Rollout
	q := url.Values{"workload": {key}, "limit": {strconv.Itoa(*limit)}}
	if err := apiGet(ctx, cfg, "/api/v1/rollouts?"+q.Encode(), &rs); err != nil {
		// No server: the store is free to read.
		store, serr := updater.OpenStore(cfg.DataDir, true)
		switch {
		case errors.Is(serr, os.ErrNotExist):
			rs = nil // nothing recorded yet
		case serr != nil:
			return fmt.Errorf("no running hoist answered (%v), and the store cannot be read: %w", err, serr)
		default:
			rs, serr = store.Rollouts(key, *limit)
			store.Close()
			if serr != nil {
				return serr
			}
		}
	}
	if *asJSON {
		if rs == nil {
			rs = []updater.Rollout{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
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
			r.Workload, outcome, took, notify.ShortImage(r.To), r.Trigger, oneLine(r.Reason))
	}
	return tw.Flush()
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
