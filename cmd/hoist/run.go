package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/internal/demo"
	"github.com/hoist-dev/hoist/internal/safetext"
)

// docs/cli is the CLI reference generated from the command tree (docs_test.go).
//go:generate go test -run TestCLIReference -update-docs .

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage means the command line was wrong and the problem was already printed.
var errUsage = app.ErrUsage

// errInvalid means hoist validate found problems (they were printed).
var errInvalid = errors.New("configuration is not valid")

// errHelp means a flag-package command printed its help because -h was asked for.
var errHelp = errors.New("help shown")

// exitCode is 2 for a usage error (a command line hoist cannot run: an unknown
// command or flag, a flag value or workload name it refuses), 1 for anything else (an
// invalid config file, a failure at run time).
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// valueError is a flag value or an argument refused once the command began (or a
// DOCKER_HOST internal/app would not dial): a usage error that run prints, as cobra's
// own refusals are.
type valueError = app.UsageError

// badValue refuses a flag value or an argument: exit 2, the message on stderr.
func badValue(format string, args ...any) error {
	return &valueError{Msg: fmt.Sprintf(format, args...)}
}

// run is the whole program; main only wires signals and the exit code. A command line
// that cannot be run (unknown command, flag or argument) is reported on stderr and
// returned wrapping errUsage.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	root := newRootCommand(getenv, stdout, stderr)
	root.SetArgs(args)
	started := false
	root.PersistentPreRun = func(*cobra.Command, []string) { started = true }
	cmd, err := root.ExecuteContextC(ctx)
	var bad *valueError
	if errors.As(err, &bad) {
		fmt.Fprintf(stderr, "hoist: %s\nRun '%s --help' for usage.\n", safetext.Text(bad.Msg), cmd.CommandPath())
		return err
	}
	if err == nil || started || errors.Is(err, errUsage) {
		return err
	}
	// Cobra refused the command line before the command began: unknown flag,
	// wrong arguments, unknown command.
	if name := singleDashFlag(cmd, args); name != "" {
		err = fmt.Errorf("%w (long flags take two dashes: --%s)", err, name)
	}
	fmt.Fprintf(stderr, "hoist: %s\nRun '%s --help' for usage.\n", safetext.Text(err.Error()), cmd.CommandPath())
	return fmt.Errorf("%w: %w", errUsage, err)
}

// singleDashFlag finds a long flag of cmd written with one dash (-config), as the
// flag package used to accept.
func singleDashFlag(cmd *cobra.Command, args []string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if cmd.Flags().Lookup(name) != nil {
				return name
			}
		}
	}
	return ""
}

// newRootCommand builds hoist's command tree. getenv gives the flags' defaults
// ($HOIST_CONFIG); the docs in docs/cli are generated from a tree built with none set.
func newRootCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "hoist",
		Short: "Keep Swarm services and containers on the newest image their policy allows",
		Long: `hoist keeps Docker Swarm services and standalone containers on the newest image
their policy allows: it learns that a tag moved (registry webhooks or digest polling),
rolls the workload out, watches its health, and rolls back by itself when it fails.

The config file defaults to $HOIST_CONFIG, then ./hoist.yaml. Commands that act on a
workload (rollback, finish, approve, retry) ask the running hoist serve through its API
(listen: and api.token: of the same file); check and history ask it when it runs.

Exit status: 0 when the command did what it was asked (hoist validate: the file is
valid); 1 when it failed (an invalid config file, an engine or server that does not
answer, a refused token, a rollout that failed); 2 when the command line was refused
(an unknown command or flag, a flag value such as --poll-interval 1ms or --limit -1, a
workload name that is not KIND/NAME) — nothing was done. SIGINT or SIGTERM ends any
command (serve lets rollouts in flight end first; a second signal ends it at once).`,
		Example: `  hoist validate --config hoist.yaml
  hoist serve --config hoist.yaml
  hoist check
  hoist history service/web --limit 5
  hoist approve service/web --digest sha256:…
  hoist completion bash > /etc/bash_completion.d/hoist`,
		Version: version,
		Args:    noArgs,
		// Without a command: the help, on stderr, and exit 2.
		RunE: func(c *cobra.Command, _ []string) error {
			c.SetOut(c.ErrOrStderr())
			c.Help()
			return errUsage
		},
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("hoist {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })

	// Each command is added here. A command that parses its own flags with the flag
	// package (newFlagSet, parseFlags) is added with flagCommand.
	root.AddCommand(
		newServeCommand(getenv),
		newCheckCommand(getenv),
		newValidateCommand(getenv),
		newImportCommand(getenv),
	)
	root.AddCommand(newManualCommands(getenv)...)
	root.AddCommand(
		newHistoryCommand(getenv),
		newVersionCommand(),
		flagCommand("demo", "See hoist at work on this machine: a registry, a web app and three rollouts (no config)",
			false, func(ctx context.Context, args []string) error { return runDemo(ctx, args, getenv, stdout, stderr) }),
		// The program inside the demo's images; not for users.
		flagCommand("demo-app", "The demo's web app", true,
			func(ctx context.Context, args []string) error { return demo.RunApp(ctx, args, getenv, stderr) }),
		// The switcher container of a rollout of hoist's own container; not for users.
		flagCommand("self-switch", "Switch hoist's own container to its new image", true,
			func(ctx context.Context, args []string) error { return runSelfSwitch(ctx, args, stdout, stderr) }),
	)
	root.InitDefaultCompletionCmd()
	// A command that takes no arguments refuses them (cobra would show its help); one
	// that only groups others (completion) shows its help when run alone.
	var refuseArgs func(*cobra.Command)
	refuseArgs = func(c *cobra.Command) {
		if c.Args == nil {
			c.Args = noArgs
		}
		if !c.Runnable() {
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
		for _, sub := range c.Commands() {
			refuseArgs(sub)
		}
	}
	refuseArgs(root)
	return root
}

// noArgs refuses any argument, naming it as an unknown command.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if !c.HasSubCommands() {
		msg = fmt.Sprintf("%q takes no arguments; got %q", c.CommandPath(), args)
	} else if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return errors.New(msg)
}

// workloadArg accepts exactly one KIND/NAME argument (optional: at most one).
func workloadArg(optional bool) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0 && optional:
			return nil
		case len(args) == 0:
			return errors.New("name the workload: KIND/NAME, e.g. service/web or container/db")
		case len(args) > 1:
			return fmt.Errorf("one workload at a time; got %d arguments %q", len(args), args)
		}
		_, err := splitKey(args[0])
		return err
	}
}

// completeWorkload offers the kinds; a name follows the slash.
func completeWorkload(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 || strings.Contains(toComplete, "/") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []cobra.Completion{"service/", "container/"}, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		Run:   func(c *cobra.Command, _ []string) { fmt.Fprintf(c.OutOrStdout(), "hoist %s\n", version) },
	}
}

// flagCommand adds a command that parses its own arguments with the flag package
// (newFlagSet and parseFlags); -h prints its flags and exits 0.
func flagCommand(name, short string, hidden bool, fn func(ctx context.Context, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:                name + " [flags]",
		Short:              short,
		Long:               short + ".\n\nThis command reads its own flags: hoist " + name + " --help lists them.",
		Hidden:             hidden,
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			err := fn(c.Context(), args)
			if errors.Is(err, errHelp) {
				return nil
			}
			return err
		},
	}
}

// common holds the flags every config-reading command takes.
type common struct {
	config  string
	maxSize byteSize
}

func (c *common) bind(cmd *cobra.Command, getenv func(string) string) {
	def := getenv("HOIST_CONFIG")
	if def == "" {
		def = "hoist.yaml"
	}
	cmd.Flags().StringVar(&c.config, "config", def, "path of the configuration file (env HOIST_CONFIG)")
	cmd.MarkFlagFilename("config", "yaml", "yml")
	c.maxSize = config.DefaultMaxSize
	cmd.Flags().Var(&c.maxSize, "max-config-size", "largest configuration file read, such as 512KiB or 2MiB")
}

// byteSize is a flag holding a size in bytes, written as the file writes sizes
// (config.ParseByteSize): 4096, 512KiB, 2MiB, 1GiB or 1MB.
type byteSize int64

func (b *byteSize) String() string {
	for _, u := range []struct {
		n    int64
		unit string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if int64(*b) >= u.n && int64(*b)%u.n == 0 {
			return strconv.FormatInt(int64(*b)/u.n, 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Set(s string) error {
	n, err := config.ParseByteSize(s)
	if err != nil || n <= 0 {
		return fmt.Errorf("%q: write a size such as 4096, 512KiB or 2MiB", s)
	}
	*b = byteSize(n)
	return nil
}

func (b *byteSize) Type() string { return "size" }

func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hoist %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a flag-package command's arguments: errHelp after -h, errUsage
// after a problem (flag has printed either already).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return errHelp
	case err != nil:
		return errUsage
	}
	return nil
}

// load reads and validates the config file.
// load reads and checks the configuration file; ctx ends it (a signal).
func load(ctx context.Context, c common, getenv func(string) string) (*config.Config, error) {
	path := c.config
	cfg, err := config.LoadFile(ctx, path, getenv, config.Limits{MaxSize: int64(c.maxSize)})
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config file %s does not exist; pass --config or set HOIST_CONFIG (README.md has an example)", path)
	}
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			return nil, fmt.Errorf("%s has %d problem(s):\n%w", path, len(ps), err)
		}
		return nil, err
	}
	return cfg, nil
}

func newValidateCommand(getenv func(string) string) *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file; print every problem with file:line",
		Long: `Check the configuration file. Exit 0 when it is valid (and say which optional
endpoints are off); otherwise print every problem with file:line and what to write
instead, and exit 1.`,
		Example: `  hoist validate --config /etc/hoist/hoist.yaml
  HOIST_CONFIG=examples/hoist.yaml hoist validate`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd.Context(), c, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.bind(cmd, getenv)
	return cmd
}

func runValidate(ctx context.Context, c common, getenv func(string) string, stdout, stderr io.Writer) error {
	path := c.config
	cfg, err := load(ctx, c, getenv)
	if err != nil {
		fmt.Fprintln(stderr, safetext.Text(err.Error()))
		return errInvalid
	}
	fmt.Fprintf(stdout, "%s is valid: %d polic%s\n", path, len(cfg.Policies), plural(len(cfg.Policies), "y", "ies"))
	for _, n := range app.NotMounted(cfg) {
		fmt.Fprintln(stdout, "note:", n)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// splitKey checks a workload argument before anything is asked of a server: KIND is
// service or container and NAME a Docker name (a letter or digit, then letters,
// digits, _ . or -), so no argument can reach another path of the API.
func splitKey(s string) (string, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || (kind != "service" && kind != "container") || name == "" {
		return "", fmt.Errorf("workload %q: write KIND/NAME, e.g. service/web or container/db", s)
	}
	if !dockerName.MatchString(name) || len(name) > 255 {
		return "", fmt.Errorf("workload %q: %q is not a Docker name: a letter or digit, then letters, digits, _ . or - (at most 255)", s, name)
	}
	return s, nil
}

// dockerName is what the engine accepts as a container or service name.
var dockerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
