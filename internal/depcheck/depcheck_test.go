// Package depcheck holds the test that keeps hoist's import graph as ARCHITECTURE.md
// draws it.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/hoist-dev/hoist/"

// allowed lists, per package, the hoist packages it may import. Anything else is a
// broken layer.
var allowed = map[string][]string{
	"config":                 {"policy"},
	"policy":                 {},
	"registry":               {},
	"composefile":            {},
	"webhook":                {"config", "registry", "internal/problem"},
	"store":                  {},
	"updater":                {"policy", "registry", "store"},
	"updater/swarm":          {"updater", "policy", "registry", "updater/internal/probe", "updater/internal/wake", "gate"},
	"updater/container":      {"updater", "policy", "registry", "updater/internal/probe", "updater/internal/wake", "composefile", "gate"},
	"updater/internal/probe": {},
	"updater/internal/wake":  {},
	"internal/safetext":      {},
	"internal/problem":       {},
	"internal/apiclient":     {"api", "config", "updater", "internal/problem", "internal/safetext"},
	"verify":                 {},
	"gate":                   {"policy"},
	"api":                    {"updater", "policy", "registry", "internal/problem"},
	"ui":                     {"updater", "api", "registry", "internal/problem"},
}

// dockerOK are the only packages that may import the Docker client.
var dockerOK = map[string]bool{"updater/swarm": true, "updater/container": true, "cmd/hoist": true}

func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} | {{join .Deps " "}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		direct, deps, _ := strings.Cut(line, " | ")
		fields := strings.Fields(direct)
		pkg := strings.TrimPrefix(fields[0], mod)
		for _, dep := range strings.Fields(deps) {
			if strings.HasPrefix(dep, "github.com/moby/moby/client") || strings.HasPrefix(dep, "github.com/docker/docker/client") {
				if !dockerOK[pkg] && !strings.HasPrefix(pkg, "internal/") {
					t.Errorf("%s imports the Docker client (through %s); only the backends and cmd may", pkg, dep)
				}
			}
		}
		ok, ruled := allowed[pkg]
		if !ruled {
			continue
		}
		set := map[string]bool{}
		for _, a := range ok {
			set[a] = true
		}
		for _, dep := range fields[1:] {
			if !strings.HasPrefix(dep, mod) {
				continue
			}
			d := strings.TrimPrefix(dep, mod)
			if !set[d] {
				t.Errorf("%s must not import %s", pkg, d)
			}
		}
	}
}
