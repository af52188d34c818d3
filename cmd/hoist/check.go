package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
	"github.com/hoist-dev/hoist/updater/swarm"
)

func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("check", "One pass, no changes: list every workload, its current image and digest, and the\ndigest or tag its policy would move it to, or why not.", stderr)
	c.bind(fs, getenv)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := load(c.config, getenv)
	if err != nil {
		return err
	}
	set, plans, _, err := policies(cfg)
	if err != nil {
		return err
	}
	dc, err := connectDocker(ctx, cfg.Docker)
	if err != nil {
		return err
	}
	defer dc.Close()
	// The store tells about quarantined digests; a running serve holds it, so fall back
	// to a scratch store (and say so) rather than fail.
	store, err := updater.OpenStore(cfg.DataDir, true)
	if err != nil {
		dir, derr := os.MkdirTemp("", "hoist-check")
		if derr != nil {
			return derr
		}
		defer os.RemoveAll(dir)
		fmt.Fprintf(stderr, "note: %v; quarantined digests are not shown\n", err)
		if store, err = updater.OpenStore(dir, false); err != nil {
			return err
		}
	}
	defer store.Close()
	u := updater.New(updater.Options{
		Backends: []updater.Backend{swarm.New(dc), container.New(dc)},
		Policies: set, Plans: plans, Resolver: newRegistry(cfg), Store: store,
		Log: newLogger(cfg.Log, stderr), Concurrency: cfg.Poll.Concurrency,
	})
	sts, err := u.Check(ctx, false, "check")
	if err != nil {
		return err
	}
	if *asJSON {
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
		pol := st.Policy
		if pol == "" {
			pol = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Workload.Key(), pol, st.Workload.Image, st.Action, detail)
	}
	return tw.Flush()
}
