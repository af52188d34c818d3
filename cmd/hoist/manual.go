package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/updater"
)

// runManual asks the running server to roll a workload back or finish its upgrade, so
// the action is serialised with rollouts and recorded.
func runManual(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	summary := map[string]string{
		"rollback": "Return a workload to the image it had before its last rollout. For a container the\nkept previous container comes back; for a service Swarm's previous spec is restored.",
		"finish":   "Drop the previous container kept for a manual rollback (Rancher's finish upgrade).",
		"approve":  "Let the update held by a policy with when.approve roll out: the digest hoist check\nshows for the workload (all containers of its group with it).",
		"retry":    "Let the digests that failed for a workload (quarantined) be tried again: the next\ncheck or push rolls the newest one out.",
	}[cmd]
	fs := newFlagSet(cmd+" KIND/NAME", summary+"\nThe running hoist serve does the work; its address and API token come from the config.", stderr)
	c.bind(fs, getenv)
	server := fs.String("server", "", "base URL of the running hoist (default: from listen:)")
	var digest *string
	if cmd == "approve" {
		digest = fs.String("digest", "", "the digest reviewed (sha256:…); refused if a newer one is waiting now")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	key, err := splitKey(fs.Arg(0))
	if err != nil {
		return err
	}
	cfg, err := load(c.config, getenv)
	if err != nil {
		return err
	}
	if !cfg.API.Token.IsSet() {
		return fmt.Errorf("api.token is not set in %s: the API is off, so %s cannot reach the server", c.config, cmd)
	}
	base := *server
	if base == "" {
		base = serverURL(cfg)
	}
	workload := strings.TrimRight(base, "/") + "/api/v1/workloads/" + key
	method, url := http.MethodPost, workload+"/"+cmd
	if cmd == "retry" {
		method, url = http.MethodDelete, workload+"/quarantine"
	}
	if digest != nil && *digest != "" {
		url += "?digest=" + neturl.QueryEscape(*digest)
	}
	ctx, cancel := context.WithTimeout(ctx, 11*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.API.Token.Value())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: is hoist serve running? %w", cmd, key, err)
	}
	defer resp.Body.Close()
	var body struct {
		Message string `json:"message"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		json.Unmarshal(b, &body)
		if body.Message == "" {
			body.Message = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%s %s: %s (HTTP %d)", cmd, key, body.Message, resp.StatusCode)
	}
	if cmd == "retry" {
		var res struct {
			Cleared int `json:"cleared"`
		}
		json.Unmarshal(b, &res)
		fmt.Fprintf(stdout, "%s: %d failed digest(s) may be tried again\n", key, res.Cleared)
		return nil
	}
	if cmd == "approve" {
		var st updater.Status
		if json.Unmarshal(b, &st) == nil {
			next := "rolling out now"
			if st.Action == updater.Deferred {
				next = st.Reason
			}
			fmt.Fprintf(stdout, "approved %s for %s: %s\n", st.Target, key, next)
			return nil
		}
	}
	fmt.Fprintf(stdout, "%s %s: done\n", cmd, key)
	return nil
}

// serverURL is where the running hoist serve of cfg answers, from listen:.
func serverURL(cfg *config.Config) string {
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
