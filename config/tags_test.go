package config

import (
	"os"
	"slices"
	"testing"
)

// testdata/tags.yaml parses with one policy per order; direction and exclude take
// their defaults only where the file leaves them out (exclude: [] keeps every tag).
func TestParseTags(t *testing.T) {
	b, err := os.ReadFile("testdata/tags.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("testdata/tags.yaml", b, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []Tags{
		{Filter: TagFilter{Pattern: `^main-(?P<ts>[0-9]+)-[0-9a-f]+$`, Extract: "$ts"}, Order: "numerical", Direction: "desc", Exclude: DefaultTagExclude},
		{Filter: TagFilter{Pattern: `^build-(?P<n>\d+)$`, Extract: "$n"}, Order: "numerical", Direction: "asc", Exclude: []string{"*-debug"}},
		{Filter: TagFilter{Pattern: `^\d{4}\.\d{2}\.\d{2}$`}, Order: "alphabetical", Direction: "desc", Exclude: []string{}},
		{Filter: TagFilter{Pattern: `^v(?P<v>\d+\.\d+\.\d+)$`, Extract: "$v"}, Order: "semver", Direction: "desc", Exclude: DefaultTagExclude},
	}
	if len(cfg.Policies) != len(want) {
		t.Fatalf("%d policies, want %d", len(cfg.Policies), len(want))
	}
	for i, p := range cfg.Policies {
		got := p.Tags
		if p.Update != "tags" || got == nil {
			t.Fatalf("policy %s: update %s, tags %v", p.Name, p.Update, got)
		}
		w := want[i]
		if got.Filter != w.Filter || got.Order != w.Order || got.Direction != w.Direction || !slices.Equal(got.Exclude, w.Exclude) || (got.Exclude == nil) != (w.Exclude == nil) {
			t.Errorf("policy %s: tags %+v, want %+v", p.Name, *got, w)
		}
	}
}
