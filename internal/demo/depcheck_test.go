package demo

import (
	"os/exec"
	"strings"
	"testing"
)

// The demo's parts stand alone: no other hoist package, no Docker client (cmd/hoist
// wires them to hoist and the engine).
func TestDemoImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/hoist-dev/hoist/") && dep != "github.com/hoist-dev/hoist/internal/demo" {
			t.Errorf("internal/demo depends on %s", dep)
		}
		if strings.HasPrefix(dep, "github.com/moby/moby/client") || strings.HasPrefix(dep, "github.com/docker/docker/client") {
			t.Errorf("internal/demo depends on %s", dep)
		}
	}
}
