package config

import (
	"strings"
	"testing"
)

func TestComposeFile(t *testing.T) {
	const doc = "policies:\n  - name: p\n    match: { containers: [x] }\n    update: semver\n    semver: \"~1\"\n    rollout: { compose_file: %s }\n"
	for _, v := range []string{ComposeFileWarn, ComposeFileWrite} {
		cfg, err := Parse("c.yaml", []byte(strings.Replace(doc, "%s", v, 1)), func(string) string { return "" })
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if got := cfg.Policies[0].Rollout.ComposeFile; got != v {
			t.Errorf("compose_file %q, want %q", got, v)
		}
	}
	_, err := Parse("c.yaml", []byte(strings.Replace(doc, "%s", "always", 1)), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "policies[0].rollout.compose_file") {
		t.Errorf("compose_file: always: %v, want an error at its path", err)
	}
}
