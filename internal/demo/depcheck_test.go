package demo

import (
	"os/exec"
	"strings"
	"testing"
)

// Only cmd/hoist runs the demo: no other hoist package imports it.
func TestDemoImportedOnlyByTheCLI(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/hoist-dev/hoist/"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, dep := range f[1:] {
			if dep == mod+"internal/demo" && f[0] != mod+"cmd/hoist" {
				t.Errorf("%s imports internal/demo; only cmd/hoist may", f[0])
			}
		}
	}
}
