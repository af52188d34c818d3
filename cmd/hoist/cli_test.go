package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/internal/app"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hoist.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	good := writeFile(t, "api: { token: ${TOK} }\npolicies:\n  - name: web\n    match: { services: [web] }\n")
	out, _, err := runCLI(t, map[string]string{"TOK": "0123456789abcdef"}, "validate", "--config", good)
	if err != nil || !strings.Contains(out, "is valid: 1 policy") {
		t.Fatalf("valid file: %v %q", err, out)
	}
	bad := writeFile(t, "listen: nope\npolicies:\n  - name: web\n    updat: digest\n")
	_, stderr, err := runCLI(t, nil, "validate", "--config", bad)
	if !errors.Is(err, errInvalid) || exitCode(err) != 1 {
		t.Fatalf("invalid file: err %v", err)
	}
	for _, want := range []string{bad + ":1: listen", bad + `:4: policies[0].updat: unknown key "updat"; did you mean "update"?`, "2 problem(s)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// HOIST_CONFIG is the default path.
	if _, _, err := runCLI(t, map[string]string{"HOIST_CONFIG": good, "TOK": "0123456789abcdef"}, "validate"); err != nil {
		t.Errorf("validate via HOIST_CONFIG: %v", err)
	}
	_, stderr, err = runCLI(t, nil, "validate", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(stderr, "does not exist") {
		t.Errorf("missing file: %v %q", err, stderr)
	}
	// The size cap is the flag's: a file over it is refused before it is parsed.
	_, stderr, err = runCLI(t, map[string]string{"TOK": "0123456789abcdef"}, "validate", "--config", good, "--max-config-size", "32B")
	if exitCode(err) != 1 || !strings.Contains(stderr, "larger than the 32 bytes") {
		t.Errorf("file over --max-config-size: %v %q", err, stderr)
	}
	if _, _, err := runCLI(t, map[string]string{"TOK": "0123456789abcdef"}, "validate", "--config", good, "--max-config-size", "1MiB"); err != nil {
		t.Errorf("--max-config-size 1MiB: %v", err)
	}
	if _, _, err := runCLI(t, nil, "validate", "--config", good, "--max-config-size", "-5"); exitCode(err) != 2 {
		t.Errorf("--max-config-size -5: exit %d (%v), want 2", exitCode(err), err)
	}
}

func TestUsage(t *testing.T) {
	out, _, err := runCLI(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "hoist ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if v, _, err := runCLI(t, nil, "--version"); err != nil || v != out {
		t.Fatalf("--version: %v %q, want %q", err, v, out)
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, _, err = runCLI(t, nil, args...)
		if err != nil || !strings.Contains(out, "serve") || !strings.Contains(out, "rollback") || !strings.Contains(out, "completion") {
			t.Fatalf("%v: %v %q", args, err, out)
		}
	}
	// Without a command: the help on stderr, exit 2.
	if _, stderr, err := runCLI(t, nil); exitCode(err) != 2 || !strings.Contains(stderr, "Available Commands") {
		t.Fatalf("no command: %v %q", err, stderr)
	}
	_, stderr, err := runCLI(t, nil, "frobnicate")
	if exitCode(err) != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %v %q", err, stderr)
	}
	if _, stderr, err = runCLI(t, nil, "chek"); exitCode(err) != 2 || !strings.Contains(stderr, `did you mean "check"?`) {
		t.Fatalf("misspelt command: %v %q", err, stderr)
	}
	out, _, err = runCLI(t, nil, "serve", "-h")
	if err != nil || !strings.Contains(out, "--poll-interval") || !strings.Contains(out, "Examples:") {
		t.Fatalf("serve -h: %v %q", err, out)
	}
	_, stderr, err = runCLI(t, nil, "rollback", "--config", "x.yaml", "web")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "KIND/NAME") || !strings.Contains(stderr, "hoist rollback --help") {
		t.Fatalf("rollback without kind: %v %q", err, stderr)
	}
}

// history reads the store itself when no hoist serve answers.
func TestHistoryFromStore(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, "data_dir: "+filepath.Join(dir, "data")+"\npolicies:\n  - name: web\n    match: { services: [web] }\n")
	_, stderr, err := runCLI(t, nil, "history", "--config", cfg)
	if err != nil || !strings.Contains(stderr, "no rollouts recorded") {
		t.Fatalf("no store yet: %v %q", err, stderr)
	}

	s, err := app.OpenStore(filepath.Join(dir, "data"), false)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	pinned := "reg.example.com/web:1@sha256:" + strings.Repeat("b", 64)
	s.Add(updater.Rollout{Workload: "service/web", To: pinned, Trigger: "poll", Started: t0, Ended: t0.Add(17 * time.Second), Outcome: updater.RolledBack, Reason: "task x exited\n(exit 3)"})
	s.Add(updater.Rollout{Workload: "service/api", To: pinned, Trigger: "dockerhub", Started: t0.Add(time.Minute), Ended: t0.Add(80 * time.Second), Outcome: updater.Succeeded})
	s.Close()

	out, _, err := runCLI(t, nil, "history", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "2 ") || !strings.Contains(lines[1], "service/api") ||
		!strings.Contains(lines[2], "rolled_back  17s") || !strings.Contains(lines[2], "reg.example.com/web:1@sha256:bbbbbbbbbbbb ") ||
		!strings.Contains(lines[2], "task x exited (exit 3)") {
		t.Fatalf("history table, newest first:\n%s", out)
	}
	out, _, err = runCLI(t, nil, "history", "--config", cfg, "--json", "service/web")
	var rs []updater.Rollout
	if err != nil || json.Unmarshal([]byte(out), &rs) != nil || len(rs) != 1 || rs[0].Workload != "service/web" || rs[0].To != pinned {
		t.Fatalf("history --json service/web: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, nil, "history", "--config", cfg, "web"); err == nil || !strings.Contains(err.Error(), "KIND/NAME") {
		t.Fatalf("history web: %v", err)
	}
}

// The configuration the README shows and the example file are valid: docs that match
// the code.
func TestDocumentedConfigsAreValid(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Configuration")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README's Configuration section has no yaml block")
	}
	env := map[string]string{
		"REGISTRY_PASSWORD": "pw", "HOIST_API_TOKEN": "0123456789abcdef0123", "HOIST_DOCKERHUB_TOKEN": "0123456789abcdef0123",
		"HOIST_DISTRIBUTION_TOKEN": "0123456789abcdef0123", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
	}
	if out, stderr, err := runCLI(t, env, "validate", "--config", writeFile(t, block)); err != nil {
		t.Errorf("README's configuration: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := runCLI(t, nil, "validate", "--config", "../../examples/hoist.yaml"); err != nil {
		t.Errorf("examples/hoist.yaml: %v\n%s%s", err, out, stderr)
	}
}

// Every command answers --help and -h with its help on stdout and exit 0; the
// flag-package ones (demo) print theirs on stderr.
func TestHelpEveryCommand(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		path := strings.Fields(c.CommandPath())[1:]
		for _, h := range []string{"--help", "-h"} {
			out, stderr, err := runCLI(t, nil, append(path, h)...)
			if err != nil || !strings.Contains(out+stderr, "Usage:") {
				t.Errorf("hoist %s %s: %v\n%s%s", strings.Join(path, " "), h, err, out, stderr)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand(func(string) string { return "" }, io.Discard, io.Discard))
}

// Unknown arguments, flags and commands are refused with a message and exit 2.
func TestCLIRefusesUnknownArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "extra"}, `"hoist check" takes no arguments; got ["extra"]`},
		{[]string{"validate", "a.yaml"}, `"hoist validate" takes no arguments`},
		{[]string{"serve", "now"}, `"hoist serve" takes no arguments`},
		{[]string{"version", "x"}, `"hoist version" takes no arguments`},
		{[]string{"history", "service/a", "service/b"}, "one workload at a time"},
		{[]string{"approve"}, "name the workload: KIND/NAME"},
		{[]string{"rollback", "service/a", "service/b"}, "one workload at a time"},
		{[]string{"retry", "web"}, `workload "web": write KIND/NAME`},
		{[]string{"finish", "pod/web"}, `workload "pod/web": write KIND/NAME`},
		{[]string{"history", "--limit", "many"}, `invalid argument "many" for "--limit"`},
		{[]string{"check", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"approve", "service/web", "--digets", "sha256:x"}, "unknown flag: --digets"},
		{[]string{"rollback", "service/web", "--digest", "sha256:x"}, "unknown flag: --digest"},
		{[]string{"completion", "tcsh"}, `unknown command "tcsh" for "hoist completion"`},
		{[]string{"completion", "bash", "extra"}, "extra"},
		{[]string{"history", "-limit", "1"}, "long flags take two dashes: --limit"},
	} {
		out, stderr, err := runCLI(t, nil, c.args...)
		if exitCode(err) != 2 || !strings.Contains(stderr, c.want) || out != "" {
			t.Errorf("hoist %s: exit %d, err %v, stdout %q, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), exitCode(err), err, out, stderr, c.want)
		}
	}
	// Negative limits are a runtime check (exit 1), as before.
	if _, _, err := runCLI(t, nil, "history", "--config", "x.yaml", "--limit", "-1"); err == nil || !strings.Contains(err.Error(), "--limit -1") {
		t.Errorf("history --limit -1: %v", err)
	}
}

// hoist completion writes cobra's scripts; hoist __complete (what they call) offers the
// commands, their flags, and a workload's kinds.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o default -F __start_hoist hoist", "zsh": "#compdef hoist", "fish": "complete -c hoist", "powershell": "Register-ArgumentCompleter"} {
		out, _, err := runCLI(t, nil, "completion", shell)
		if err != nil || len(out) < 1000 || !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: %v, %d bytes, want %q:\n%.300s", shell, err, len(out), want, out)
		}
	}
	complete := func(args ...string) string {
		t.Helper()
		out, _, err := runCLI(t, nil, append([]string{"__complete"}, args...)...)
		if err != nil {
			t.Fatalf("__complete %q: %v", args, err)
		}
		return out
	}
	out := complete("")
	for _, cmd := range []string{"serve", "check", "validate", "rollback", "finish", "approve", "retry", "history", "version", "completion", "demo"} {
		if !strings.Contains(out, "\n"+cmd+"\t") && !strings.HasPrefix(out, cmd+"\t") {
			t.Errorf("__complete \"\" lacks %s:\n%s", cmd, out)
		}
	}
	if strings.Contains(out, "demo-app") {
		t.Errorf("__complete \"\" offers the hidden demo-app:\n%s", out)
	}
	if out := complete("approve", "--"); !strings.Contains(out, "--digest") || !strings.Contains(out, "--config") {
		t.Errorf("__complete approve --:\n%s", out)
	}
	if out := complete("history", ""); !strings.Contains(out, "service/\n") || !strings.Contains(out, "container/\n") {
		t.Errorf("__complete history \"\":\n%s", out)
	}
	if out := complete("serve", "--log-level", ""); !strings.Contains(out, "debug\n") {
		t.Errorf("__complete serve --log-level \"\":\n%s", out)
	}
}

// apiServer is the real API of a hoist serve (an updater with no workloads, a real
// store) on a loopback port; it records the requests that reach it.
type apiServer struct {
	url   string
	store *app.Store
	mu    sync.Mutex
	seen  []string
}

func startAPI(t *testing.T, token string) *apiServer {
	t.Helper()
	store, err := app.OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	u := updater.New(updater.Options{Policies: policy.NewSet(), Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	e := echo.New()
	api.New(context.Background(), u, token, api.NewMetrics()).Register(e)
	a := &apiServer{store: store}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Method+" "+r.URL.RequestURI())
		a.mu.Unlock()
		e.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *apiServer) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// configFor is a config whose listen: and api.token: point at a.
func (a *apiServer) configFor(t *testing.T, token string) string {
	t.Helper()
	return writeFile(t, fmt.Sprintf("listen: %s\napi: { token: %q }\ndata_dir: %s\npolicies:\n  - name: web\n    match: { services: [web] }\n",
		strings.TrimPrefix(a.url, "http://"), token, filepath.Join(t.TempDir(), "data")))
}

const (
	apiToken   = "0123456789abcdef0123456789abcdef"
	wrongToken = "fedcba9876543210fedcba9876543210"
)

// Flags may follow the workload, as the README writes them.
func TestCLIFlagsAfterArguments(t *testing.T) {
	a := startAPI(t, apiToken)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		a.store.Add(updater.Rollout{Workload: "service/x", To: fmt.Sprintf("reg.example.com/x:%d", i), Trigger: "poll",
			Started: t0.Add(time.Duration(i) * time.Minute), Ended: t0.Add(time.Duration(i)*time.Minute + 5*time.Second), Outcome: updater.Succeeded})
	}
	cfg := a.configFor(t, apiToken)

	out, stderr, err := runCLI(t, nil, "history", "service/x", "--limit", "1", "--config", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 || !strings.Contains(lines[1], "reg.example.com/x:2") {
		t.Fatalf("history service/x --limit 1: %v\n%s%s", err, out, stderr)
	}
	out, _, err = runCLI(t, nil, "history", "service/x", "--json", "--config", cfg)
	var rs []updater.Rollout
	if err != nil || json.Unmarshal([]byte(out), &rs) != nil || len(rs) != 3 {
		t.Fatalf("history service/x --json: %v\n%s", err, out)
	}

	digest := "sha256:" + strings.Repeat("a", 64)
	_, _, err = runCLI(t, nil, "approve", "service/x", "--digest", digest, "--config", cfg)
	// Nothing waits for approval on this server; what matters is what reached it.
	want := "POST /api/v1/workloads/service/x/approve?digest=sha256%3A" + strings.Repeat("a", 64)
	if got := a.requests(); !slices.Contains(got, want) {
		t.Fatalf("approve service/x --digest: %v; requests %q, want %q", err, got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "approve service/x: ") || !strings.Contains(err.Error(), "(HTTP 4") {
		t.Errorf("approve of nothing waiting: %v; want the server's refusal", err)
	}
	// --limit 0 means the default (100); the API is not sent a limit it refuses.
	if out, _, err := runCLI(t, nil, "history", "--limit", "0", "--config", cfg); err != nil || strings.Count(out, "service/x") != 3 {
		t.Errorf("history --limit 0: %v\n%s", err, out)
	}
	// The same with -- ending the flags.
	if _, _, err := runCLI(t, nil, "history", "--config", cfg, "--", "service/x"); err != nil {
		t.Errorf("history -- service/x: %v", err)
	}
}

// With a server configured and answering, a refused token is an error naming the
// server: no command falls back to a local check or to reading the store.
func TestCLIRefusedToken(t *testing.T) {
	a := startAPI(t, apiToken)
	a.store.Add(updater.Rollout{Workload: "service/web", To: "reg.example.com/web:1", Trigger: "poll", Started: time.Now(), Outcome: updater.Succeeded})
	bad := a.configFor(t, wrongToken)
	for _, args := range [][]string{
		{"check"}, {"check", "--json"}, {"history"}, {"history", "service/web"},
		{"approve", "service/web"}, {"rollback", "service/web"}, {"finish", "container/db"}, {"retry", "service/web"},
	} {
		out, stderr, err := runCLI(t, nil, append(args, "--config", bad)...)
		want := "the running hoist at " + a.url + " refused the API token: "
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "(HTTP 401)") {
			t.Errorf("hoist %s with a wrong token: exit %d, err %v; want %q", strings.Join(args, " "), exitCode(err), err, want)
		}
		if out != "" || strings.Contains(stderr, "no rollouts recorded") || strings.Contains(err.Error(), wrongToken) {
			t.Errorf("hoist %s with a wrong token printed %q %q", strings.Join(args, " "), out, stderr)
		}
	}

	// The right token: answered by the server.
	good := a.configFor(t, apiToken)
	out, stderr, err := runCLI(t, nil, "check", "--config", good)
	if err != nil || !strings.Contains(stderr, "checked by the running hoist at "+a.url) || !strings.Contains(out, "WORKLOAD") {
		t.Fatalf("check with the token: %v\n%s%s", err, out, stderr)
	}
	out, _, err = runCLI(t, nil, "history", "--config", good)
	if err != nil || !strings.Contains(out, "service/web") {
		t.Fatalf("history with the token: %v\n%s", err, out)
	}
	// Nothing is quarantined on this server: its own answer, not a refused token.
	if _, _, err := runCLI(t, nil, "retry", "service/web", "--config", good); err == nil || !strings.HasPrefix(err.Error(), "retry service/web: ") || strings.Contains(err.Error(), "refused the API token") {
		t.Fatalf("retry with the token: %v", err)
	}
}

// A server that answers with an error other than a refused token is reported, not
// worked around; no server at all is: history reads the store, the actions say so.
func TestCLIServerAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"store is closed"}`)
	}))
	defer srv.Close()
	a := &apiServer{url: srv.URL}
	cfg := a.configFor(t, apiToken)
	for _, args := range [][]string{{"check"}, {"history"}, {"rollback", "service/web"}} {
		_, _, err := runCLI(t, nil, append(args, "--config", cfg)...)
		if err == nil || !strings.Contains(err.Error(), "store is closed (HTTP 500)") {
			t.Errorf("hoist %s against a failing server: %v", strings.Join(args, " "), err)
		}
	}

	srv.Close() // nothing listens there now
	_, stderr, err := runCLI(t, nil, "history", "--config", cfg)
	if err != nil || !strings.Contains(stderr, "no rollouts recorded") {
		t.Errorf("history with no server and no store: %v %q", err, stderr)
	}
	_, _, err = runCLI(t, nil, "approve", "service/web", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "is hoist serve running? no hoist answered at "+srv.URL) {
		t.Errorf("approve with no server: %v", err)
	}
}

// The README's CLI section names every command and every flag the help shows.
func TestReadmeCLI(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## CLI\n")
	section, _, ok2 := strings.Cut(section, "\n## ")
	if !ok || !ok2 {
		t.Fatal("README has no CLI section")
	}
	root := newRootCommand(func(string) string { return "" }, io.Discard, io.Discard)
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		if !strings.Contains(section, "hoist "+c.Name()) {
			t.Errorf("README's CLI section does not show hoist %s", c.Name())
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !strings.Contains(section, "--"+f.Name) {
				t.Errorf("README's CLI section does not mention hoist %s --%s", c.Name(), f.Name)
			}
		})
	}
}
