package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli from the command tree")

const docsDir = "../../docs/cli"

// docs/cli is the reference cobra generates from the command tree (built with no
// environment, so defaults read as documented). Regenerate it with go generate
// ./cmd/hoist (go test ./cmd/hoist -run TestCLIReference -update-docs).
func TestCLIReference(t *testing.T) {
	dir := t.TempDir()
	root := newRootCommand(func(string) string { return "" }, io.Discard, io.Discard)
	var noStamp func(*cobra.Command)
	noStamp = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			noStamp(sub)
		}
	}
	noStamp(root)
	if err := doc.GenMarkdownTree(root, dir); err != nil {
		t.Fatal(err)
	}
	want := readDocs(t, dir)
	if *updateDocs {
		old, _ := filepath.Glob(filepath.Join(docsDir, "*.md"))
		for _, f := range old {
			os.Remove(f)
		}
		os.MkdirAll(docsDir, 0o755)
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(docsDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	got := readDocs(t, docsDir)
	for name, b := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("docs/cli lacks %s", name)
		} else if !bytes.Equal(g, b) {
			t.Errorf("docs/cli/%s is stale", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/cli/%s documents no command", name)
		}
	}
	if t.Failed() {
		t.Log("regenerate with: go generate ./cmd/hoist")
	}
	if _, ok := want["hoist_approve.md"]; !ok || !slices.Contains(keys(want), "hoist_completion_bash.md") {
		t.Errorf("generated %v; want a page per command", keys(want))
	}
}

func readDocs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
