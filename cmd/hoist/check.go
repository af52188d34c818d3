package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/container"
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
	// A running serve holds the store; ask it, so quarantined digests show too.
	sts, err := checkViaServer(ctx, cfg)
	if err == nil {
		fmt.Fprintf(stderr, "checked by the running hoist at %s\n", serverURL(cfg))
	} else {
		if sts, err = checkLocally(ctx, cfg, stderr); err != nil {
			return err
		}
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

// checkViaServer asks a running hoist serve (GET /api/v1/workloads: a check that
// changes nothing). It fails when no server answers.
func checkViaServer(ctx context.Context, cfg *config.Config) ([]updater.Status, error) {
	var sts []updater.Status
	return sts, apiGet(ctx, cfg, "/api/v1/workloads", &sts)
}

// apiGet GETs path from the running hoist serve of cfg and decodes the JSON answer
// into out. It fails at once when no server answers or the API is off.
func apiGet(ctx context.Context, cfg *config.Config, path string, out any) error {
	if !cfg.API.Token.IsSet() {
		return errors.New("api.token not set")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serverURL(cfg)+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.API.Token.Value())
	c := http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode server answer: %w", err)
	}
	return nil
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
