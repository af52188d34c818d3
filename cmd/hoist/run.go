package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hoist-dev/hoist/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage means the usage text was already printed.
var errUsage = errors.New("usage")

// errInvalid means hoist validate found problems (they were printed).
var errInvalid = errors.New("configuration is not valid")

// exitCode is 2 for a usage error, 1 for anything else (an invalid file included).
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

const usage = `hoist keeps Docker Swarm services and standalone containers on the newest image
their policy allows: it learns that a tag moved (registry webhooks or digest polling),
rolls the workload out, watches its health, and rolls back by itself when it fails.

Usage:
  hoist serve    --config hoist.yaml   run webhooks, API, poller and updater until SIGINT/SIGTERM
  hoist check    --config hoist.yaml   one pass, no changes: what each workload would move to, or why not
  hoist validate --config hoist.yaml   check the file; print every problem with file:line
  hoist rollback --config hoist.yaml KIND/NAME   return a workload to its previous image (via the running server)
  hoist finish   --config hoist.yaml KIND/NAME   drop the previous container kept for rollback
  hoist approve  --config hoist.yaml KIND/NAME   let an update held for approval roll out (--digest D)
  hoist retry    --config hoist.yaml KIND/NAME   let digests that failed for a workload be tried again
  hoist history  --config hoist.yaml [KIND/NAME] recorded rollouts, newest first (--json, --limit N)
  hoist version                        print the version

The config file defaults to $HOIST_CONFIG, then ./hoist.yaml. Run "hoist COMMAND -h"
for a command's flags. Documentation: README.md.
`

// run is the whole program; main only wires signals and the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, getenv, stdout, stderr)
	case "validate":
		return runValidate(rest, getenv, stdout, stderr)
	case "rollback", "finish", "approve", "retry":
		return runManual(ctx, cmd, rest, getenv, stdout, stderr)
	case "history":
		return runHistory(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "hoist %s\n", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "hoist: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// common holds the flags every config-reading command takes.
type common struct {
	config string
}

func (c *common) bind(fs *flag.FlagSet, getenv func(string) string) {
	def := getenv("HOIST_CONFIG")
	if def == "" {
		def = "hoist.yaml"
	}
	fs.StringVar(&c.config, "config", def, "path of the configuration file (env HOIST_CONFIG)")
}

func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hoist %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	// flag has printed the problem (or the help asked for) already.
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

// load reads and validates the config file.
func load(path string, getenv func(string) string) (*config.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist; pass --config or set HOIST_CONFIG (README.md has an example)", path)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := config.Parse(path, b, getenv)
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			return nil, fmt.Errorf("%s has %d problem(s):\n%w", path, len(ps), err)
		}
		return nil, err
	}
	return cfg, nil
}

func runValidate(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("validate", "Check the configuration file. Exit 0 when it is valid; otherwise print every\nproblem with file:line and what to write instead, and exit 1.", stderr)
	c.bind(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := load(c.config, getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errInvalid
	}
	fmt.Fprintf(stdout, "%s is valid: %d polic%s\n", c.config, len(cfg.Policies), plural(len(cfg.Policies), "y", "ies"))
	for _, n := range notMounted(cfg) {
		fmt.Fprintln(stdout, "note:", n)
	}
	return nil
}

// notMounted says which optional endpoints are off, so a user isn't surprised.
func notMounted(cfg *config.Config) []string {
	var out []string
	if !cfg.API.Token.IsSet() {
		out = append(out, "api.token is not set: /api/v1 is not mounted")
	}
	if cfg.Poll.Interval == 0 {
		out = append(out, "poll.interval is 0: polling is off, only webhooks trigger updates")
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func splitKey(s string) (string, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || (kind != "service" && kind != "container") || name == "" {
		return "", fmt.Errorf("workload %q: write KIND/NAME, e.g. service/web or container/db", s)
	}
	return s, nil
}
