package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
