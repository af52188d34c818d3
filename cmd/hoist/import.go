package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/app"
)

func newImportCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Write a hoist configuration from another updater's setup",
	}
	cmd.AddCommand(newImportWatchtowerCommand(getenv))
	return cmd
}

// importFlags are hoist import watchtower's flags.
type importFlags struct {
	container, out, envFile, dockerHost string
	force                               bool
}

func newImportWatchtowerCommand(getenv func(string) string) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "watchtower",
		Short: "Write hoist.yaml from a running Watchtower container's environment and flags",
		Long: `Read a Watchtower container on the engine (its environment, command line and labels)
and write an equivalent, commented hoist configuration: poll interval or schedule,
label-enable, scope, monitor-only, cleanup, notification URLs, the HTTP API token,
registry credentials. Secrets are never written into the file: it references them as
${VAR}, and the command says which variables hoist serve needs (--env-file writes them,
with Watchtower's values, to a file only its owner can read).

Without --container, the container whose image name contains "watchtower" or that is
labelled com.centurylinklabs.watchtower=true is read.`,
		Example: `  hoist import watchtower --out hoist.yaml
  hoist import watchtower --container watchtower --out hoist.yaml --env-file hoist.env`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runImportWatchtower(c.Context(), f, getenv, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.container, "container", "", "name or id of the Watchtower container (default: found by image or label)")
	fs.StringVar(&f.out, "out", "hoist.yaml", "file to write, - for standard output")
	fs.StringVar(&f.envFile, "env-file", "", "also write the variables the file references, with Watchtower's values, to this file (mode 0600)")
	fs.StringVar(&f.dockerHost, "docker-host", "", "Docker host URL (default DOCKER_HOST or the usual socket)")
	fs.BoolVar(&f.force, "force", false, "overwrite --out and --env-file if they exist")
	return cmd
}

func runImportWatchtower(ctx context.Context, f importFlags, getenv func(string) string, stdout, stderr io.Writer) error {
	host := f.dockerHost
	if host == "" {
		host = getenv("DOCKER_HOST")
	}
	setup, err := app.ReadWatchtower(ctx, host, f.container)
	if err != nil {
		return err
	}
	im := config.FromWatchtower(setup)
	if err := writeImport(f, im); err != nil {
		return err
	}
	if f.out == "-" {
		stdout.Write(im.YAML)
		stdout = stderr // the file is on stdout: the rest goes beside it
	}
	return reportImport(stdout, f, setup.Container, im)
}

// writeImport writes the file and, when asked, the variables it references.
func writeImport(f importFlags, im config.Imported) error {
	if f.out != "-" {
		if err := writeNew(f.out, im.YAML, 0o644, f.force); err != nil {
			return err
		}
	}
	if f.envFile == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("# Environment for hoist serve, from the Watchtower container. Keep it private.\n")
	for _, e := range im.Env {
		fmt.Fprintf(&b, "%s=%s\n", e.Name, e.Value.Value())
	}
	return writeNew(f.envFile, []byte(b.String()), 0o600, f.force)
}

// writeNew writes data to path, refusing to replace a file unless force.
func writeNew(path string, data []byte, mode os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	fh, err := os.OpenFile(path, flags, mode)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; pass --force to replace it", path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// reportImport says (on stderr when the file went to stdout) what was written, which variables hoist serve needs, and what was
// not mapped; it checks the file with the values Watchtower had.
func reportImport(w io.Writer, f importFlags, from string, im config.Imported) error {
	if f.out != "-" {
		fmt.Fprintf(w, "wrote %s from Watchtower container %s\n", f.out, from)
	}
	vals := map[string]string{}
	for _, e := range im.Env {
		vals[e.Name] = e.Value.Value()
	}
	if len(im.Env) > 0 {
		where := "set them"
		if f.envFile != "" {
			where = "written to " + f.envFile + " (e.g. docker run --env-file " + f.envFile + ")"
		}
		fmt.Fprintf(w, "hoist serve needs these environment variables (%s):\n", where)
		for _, e := range im.Env {
			fmt.Fprintf(w, "  %s  (Watchtower's %s)\n", e.Name, e.From)
		}
	}
	for _, n := range im.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if _, err := config.Parse(f.out, im.YAML, func(k string) string { return vals[k] }); err != nil {
		fmt.Fprintf(w, "the file needs changes before hoist serve takes it:\n%v\n", err)
		return nil
	}
	path := f.out
	if path == "-" {
		path = "hoist.yaml"
		fmt.Fprint(w, "next: save it as hoist.yaml, ")
	} else {
		fmt.Fprint(w, "next: ")
	}
	fmt.Fprintf(w, "stop Watchtower, then hoist validate --config %s && hoist serve --config %s\n", path, path)
	return nil
}
