package webhook

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports writes doc.go's rule down: webhook imports config, registry and
// internal/problem, and no other hoist package or the Docker client.
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	allowed := map[string]bool{"github.com/hoist-dev/hoist/config": true, "github.com/hoist-dev/hoist/registry": true,
		"github.com/hoist-dev/hoist/internal/problem": true}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/hoist-dev/hoist/") && !allowed[p] ||
				strings.Contains(p, "docker/docker") || strings.Contains(p, "moby/moby") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
