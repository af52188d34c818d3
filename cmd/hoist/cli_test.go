package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
}

func TestUsage(t *testing.T) {
	out, _, err := runCLI(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "hoist ") {
		t.Fatalf("version: %v %q", err, out)
	}
	out, _, err = runCLI(t, nil, "--help")
	if err != nil || !strings.Contains(out, "hoist serve") || !strings.Contains(out, "hoist rollback") {
		t.Fatalf("help: %v %q", err, out)
	}
	_, stderr, err := runCLI(t, nil, "frobnicate")
	if exitCode(err) != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %v %q", err, stderr)
	}
	_, stderr, err = runCLI(t, nil, "serve", "-h")
	if !errors.Is(err, errUsage) || !strings.Contains(stderr, "-poll-interval") {
		t.Fatalf("serve -h: %v %q", err, stderr)
	}
	_, _, err = runCLI(t, nil, "rollback", "--config", "x.yaml", "web")
	if err == nil || !strings.Contains(err.Error(), "KIND/NAME") {
		t.Fatalf("rollback without kind: %v", err)
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

	s, err := updater.OpenStore(filepath.Join(dir, "data"), false)
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
