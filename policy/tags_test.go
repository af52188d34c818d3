package policy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// readTags reads a tag list from testdata/tags: one tag a line, # comments.
func readTags(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/tags/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			tags = append(tags, l)
		}
	}
	return tags
}

// Each kind of order over a realistic tag list: the tag chosen and the reason hoist
// check shows for it.
func TestTagFilterPick(t *testing.T) {
	cases := []struct {
		name, file, current string
		pattern, extract    string
		order               Order
		asc                 bool
		exclude             []string
		want, reason        string
		ok                  bool
	}{
		{
			name: "timestamp", file: "main-ts.txt", current: "main-1732800000-0f3e2a1",
			pattern: `^main-(?P<ts>[0-9]+)-[0-9a-f]+$`, extract: "$ts", order: Numerical, exclude: DefaultExclude,
			want: "main-1732900000-ab12cd", ok: true,
			reason: "newest of 5 tags matching ^main-(?P<ts>[0-9]+)… by ts (numerical, desc): main-1732900000-ab12cd; 4 excluded",
		},
		{
			name: "timestamp, signatures kept", file: "main-ts.txt", current: "main",
			pattern: `^main-(?P<ts>[0-9]+)-[0-9a-f]+`, extract: "${ts}", order: Numerical, exclude: []string{},
			// Without exclude the signature of 1732800000 matches an unanchored pattern too,
			// but it is not newer; the newest build still wins.
			want: "main-1732900000-ab12cd", ok: true,
			reason: "newest of 6 tags matching ^main-(?P<ts>[0-9]+)… by ts (numerical, desc): main-1732900000-ab12cd",
		},
		{
			name: "timestamp ascending", file: "main-ts.txt", current: "main",
			pattern: `^main-(?P<ts>[0-9]+)-[0-9a-f]+$`, extract: "$ts", order: Numerical, asc: true, exclude: DefaultExclude,
			want: "main-999999999-deadbee", ok: true,
			reason: "lowest of 5 tags matching ^main-(?P<ts>[0-9]+)… by ts (numerical, asc): main-999999999-deadbee; 4 excluded",
		},
		{
			name: "timestamp, alphabetical gets digits of unequal length wrong", file: "main-ts.txt", current: "main",
			pattern: `^main-(?P<ts>[0-9]+)-[0-9a-f]+$`, extract: "$ts", order: Alphabetical, exclude: DefaultExclude,
			want: "main-999999999-deadbee", ok: true,
			reason: "newest of 5 tags matching ^main-(?P<ts>[0-9]+)… by ts (alphabetical, desc): main-999999999-deadbee; 4 excluded",
		},
		{
			name: "build number", file: "build.txt", current: "build-9",
			pattern: `^build-(?P<n>\d+)$`, extract: "$n", order: Numerical, exclude: DefaultExclude,
			want: "build-11", ok: true,
			reason: `newest of 4 tags matching ^build-(?P<n>\d+)$ by n (numerical, desc): build-11; 1 excluded`,
		},
		{
			name: "build number, current is newest", file: "build.txt", current: "build-12",
			pattern: `^build-(?P<n>\d+)$`, extract: "$n", order: Numerical, exclude: DefaultExclude,
			want: "build-12", ok: true,
			reason: `newest of 4 tags matching ^build-(?P<n>\d+)$ by n (numerical, desc): build-12; 1 excluded (the current tag)`,
		},
		{
			name: "calendar version, alphabetical", file: "calver.txt", current: "2026.10.01",
			pattern: `^\d{4}\.\d{2}\.\d{2}$`, order: Alphabetical, exclude: DefaultExclude,
			want: "2026.11.03", ok: true,
			reason: `newest of 5 tags matching ^\d{4}\.\d{2}\.\d{2}$ by tag (alphabetical, desc): 2026.11.03; 2 excluded`,
		},
		{
			name: "calendar version, numerical over the groups", file: "calver.txt", current: "2026.10.01",
			pattern: `^(?P<y>\d{4})\.(?P<m>\d{2})\.(?P<d>\d{2})$`, extract: "$y$m$d", order: Numerical, exclude: DefaultExclude,
			want: "2026.11.03", ok: true,
			reason: `newest of 5 tags matching ^(?P<y>\d{4})\.(?P<m… by $y$m$d (numerical, desc): 2026.11.03; 2 excluded`,
		},
		{
			name: "calendar version, semver", file: "calver.txt", current: "2025.12.31",
			order: SemverOrder, exclude: DefaultExclude,
			want: "2026.11.03", ok: true,
			reason: `newest of 5 tags matching any by tag (semver, desc): 2026.11.03; 2 excluded`,
		},
		{
			name: "semver, releases only", file: "semver.txt", current: "v1.9.0",
			pattern: `^v(?P<v>\d+\.\d+\.\d+)$`, extract: "$v", order: SemverOrder, exclude: DefaultExclude,
			want: "v1.10.1", ok: true,
			reason: `newest of 4 tags matching ^v(?P<v>\d+\.\d+\.\d+)$ by v (semver, desc): v1.10.1; 1 excluded`,
		},
		{
			name: "semver, pre-releases count", file: "semver.txt", current: "v1.9.0",
			order: SemverOrder, exclude: DefaultExclude,
			want: "v2.0.0-beta.1", ok: true,
			reason: `newest of 6 tags matching any by tag (semver, desc): v2.0.0-beta.1; 1 excluded`,
		},
		{
			name: "nanoseconds compare exactly", file: "nanos.txt", current: "run-1732900000000000000",
			pattern: `^run-(?P<ns>\d+)$`, extract: "$ns", order: Numerical, exclude: DefaultExclude,
			want: "run-1732900000000000002", ok: true,
			reason: `newest of 3 tags matching ^run-(?P<ns>\d+)$ by ns (numerical, desc): run-1732900000000000002`,
		},
		{
			name: "nothing matches", file: "build.txt", current: "build-9",
			pattern: `^release-(?P<n>\d+)$`, extract: "$n", order: Numerical, exclude: DefaultExclude,
			reason: `none of 8 tags matches ^release-(?P<n>\d+)$ by n (numerical, desc); 1 excluded`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewTagFilter(c.pattern, c.extract, c.order, c.asc, c.exclude)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := f.Pick(c.current, readTags(t, c.file))
			if ok != c.ok || got.Tag != c.want {
				t.Errorf("Pick = %q, %v; want %q, %v", got.Tag, ok, c.want, c.ok)
			}
			if got.Reason != c.reason {
				t.Errorf("reason\n got %s\nwant %s", got.Reason, c.reason)
			}
		})
	}
}

func TestDefaultExcludeDropsCosignTags(t *testing.T) {
	f, err := NewTagFilter("", "", Alphabetical, false, DefaultExclude)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"sha256-4f1c.sig", "sha256-4f1c.att", "sha256-4f1c.sbom", "sha256-4f1c", "v1.2.sig"} {
		if !f.excluded(tag) {
			t.Errorf("%s is not excluded", tag)
		}
	}
	for _, tag := range []string{"v1.2", "signature", "main-1-abc", "sha256"} {
		if f.excluded(tag) {
			t.Errorf("%s is excluded", tag)
		}
	}
}

func TestNewTagFilterRefuses(t *testing.T) {
	cases := []struct {
		pattern, extract string
		order            Order
		exclude          []string
		want             string
	}{
		{`^main-(?P<ts>[0-9]+`, "$ts", Numerical, nil, "missing closing )"},
		{`^main-(?P<ts>[0-9]+)$`, "$time", Numerical, nil, `no group named "time"`},
		{`^main-(?P<ts>[0-9]+)$`, "ts", Numerical, nil, "names no group"},
		{`^main-(?P<ts>[0-9]+)$`, "${ts", Numerical, nil, "names no group"},
		{`^main-([0-9]+)$`, "$2", Numerical, nil, "no group 2"},
		{`^main-(?P<ts>[0-9]+)$`, "$ts", "newest", nil, "use numerical, alphabetical or semver"},
		{``, "", Alphabetical, []string{"[a-"}, "syntax error in pattern"},
	}
	for _, c := range cases {
		_, err := NewTagFilter(c.pattern, c.extract, c.order, false, c.exclude)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewTagFilter(%q, %q, %s): %v, want %q", c.pattern, c.extract, c.order, err, c.want)
		}
	}
	re := regexp.MustCompile(`^(?P<a>x)(y)$`)
	for _, ok := range []string{"$a", "${a}-$2", "$$$1", "$a_"[:2]} {
		if err := CheckExtract(re, ok); err != nil {
			t.Errorf("CheckExtract(%q): %v", ok, err)
		}
	}
}
