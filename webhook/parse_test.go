package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hoist-dev/hoist/registry"
)

type parseFunc = func([]byte) ([]registry.PushEvent, error)

var parsers = map[string]parseFunc{
	"dockerhub":    parseDockerHub,
	"distribution": parseDistribution,
	"ghcr":         parseGHCR,
	"quay":         parseQuay,
	"harbor":       parseHarbor,
	"gitea":        parseGitea,
	"acr":          parseACR,
	"jfrog":        parseJFrog,
	"gar":          parseGAR,
	"ecr":          parseECR,
	"generic":      parseGeneric,
}

func fixture(t testing.TB, source, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", source, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want is one expected event as "repo:tag" or "repo:tag#delivery".
func keys(evs []registry.PushEvent) []string {
	var out []string
	for _, e := range evs {
		k := e.Key()
		if e.DeliveryID != "" {
			k += "#" + e.DeliveryID
		}
		out = append(out, k)
	}
	return out
}

// TestParsers is the golden table: every fixture under testdata is listed here with
// the events it must yield, or the error it must give.
func TestParsers(t *testing.T) {
	cases := []struct {
		source, fixture string
		want            []string
		err             error
	}{
		{"dockerhub", "push", []string{"index.docker.io/acme/app:1.4.2"}, nil},
		{"dockerhub", "float-timestamps", []string{"index.docker.io/svendowideit/testhook:latest"}, nil},
		{"dockerhub", "official", []string{"index.docker.io/library/nginx:1.27"}, nil},
		{"dockerhub", "no-tag", nil, nil},
		{"dockerhub", "bad-name", nil, errBadName},

		{"distribution", "v2-tag-push", []string{"registry.example.com/team/app:v1.2.3#evt-1"}, nil},
		{"distribution", "v1-tag-push", []string{"localhost:5000/team/app:latest#evt-2"}, nil},
		{"distribution", "blob-push", nil, nil},
		{"distribution", "pull-head", nil, nil},
		{"distribution", "untagged-manifest", nil, nil},
		{"distribution", "mount-delete", nil, nil},
		{"distribution", "multi", []string{"registry.example.com/team/app:2.0#evt-10", "registry.example.com/team/other:stable#evt-12"}, nil},
		{"distribution", "internal-host", nil, nil}, // "registry" is no registry host: dropped (set host: in config)
		{"distribution", "empty", nil, nil},

		{"ghcr", "package-published", []string{"ghcr.io/acme/app:v1.0.0"}, nil},
		{"ghcr", "package-empty-tag", nil, nil},
		{"ghcr", "registry-package", []string{"ghcr.io/acme/app:main"}, nil},
		{"ghcr", "package-updated", []string{"ghcr.io/acme/app:latest"}, nil},
		{"ghcr", "npm-package", nil, nil},
		{"ghcr", "ping", nil, nil},

		{"quay", "push", []string{"quay.io/acme/app:latest", "quay.io/acme/app:v2.1"}, nil},
		{"quay", "legacy-object", []string{"quay.example.com:8443/acme/app:latest", "quay.example.com:8443/acme/app:v1"}, nil},
		{"quay", "no-tags", nil, nil},
		{"quay", "bad-tags", nil, errMalformed},

		{"harbor", "push-artifact", []string{"harbor.example.com/proj/app:v1.0"}, nil},
		{"harbor", "tagless", nil, nil},
		{"harbor", "cloudevents", []string{"harbor.example.com:8443/proj/app:v2.0#4a7f8e8e-1c1d-4c3a-8f0a-9c4c2f6c1b11"}, nil},
		{"harbor", "pushimage-v1", []string{"hub.harbor.com/test-webhook/debian:latest"}, nil},
		{"harbor", "delete", nil, nil},
		{"harbor", "scanning", nil, nil},

		{"gitea", "created", []string{"git.example.com/acme/app:v1.2.3"}, nil},
		{"gitea", "digest-version", nil, nil},
		{"gitea", "deleted", nil, nil},
		{"gitea", "npm", nil, nil},
		{"gitea", "forgejo-port", []string{"forge.example.com:3000/acme/app:stable"}, nil},

		{"acr", "push", []string{"myregistry.azurecr.io/hello-world:v1#8a7c1b2e-5d6f-4a3b-9c8d-7e6f5a4b3c2d"}, nil},
		{"acr", "push-untagged", nil, nil},
		{"acr", "ping", nil, nil},
		{"acr", "delete", nil, nil},

		{"jfrog", "pushed-token", []string{"example.jfrog.io/docker-local/app:1.0"}, nil},
		{"jfrog", "pushed-signed", []string{"example.jfrog.io/docker-local/app:2.0"}, nil},
		{"jfrog", "deleted", nil, nil},
		{"jfrog", "artifact-domain", nil, nil},

		{"gar", "insert", []string{"us-east1-docker.pkg.dev/acme-prod/images/app:v3#7402431151221117"}, nil},
		{"gar", "insert-digest-only", nil, nil},
		{"gar", "delete", nil, nil},
		{"gar", "unwrapped", []string{"us-east1-docker.pkg.dev/acme-prod/images/app:v4"}, nil},
		{"gar", "bad-data", nil, errMalformed},

		{"ecr", "push", []string{"123456789012.dkr.ecr.us-west-2.amazonaws.com/team/app:latest#13cde686-328b-6117-af20-0e5566167482"}, nil},
		{"ecr", "push-failure", nil, nil},
		{"ecr", "delete", nil, nil},
		{"ecr", "push-untagged", nil, nil},
		{"ecr", "china", []string{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/app:v1#13cde686-328b-6117-af20-0e5566167482"}, nil},

		{"generic", "image", []string{"registry.example.com/team/app:1.2.3"}, nil},
		{"generic", "dockerhub-short", []string{"index.docker.io/library/nginx:1.27"}, nil},
		{"generic", "no-tag", nil, errBadName},
		{"generic", "digest", nil, errBadName},
	}
	listed := map[string]bool{}
	for _, c := range cases {
		listed[c.source+"/"+c.fixture+".json"] = true
		t.Run(c.source+"/"+c.fixture, func(t *testing.T) {
			evs, err := parsers[c.source](fixture(t, c.source, c.fixture))
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if got := keys(evs); !reflect.DeepEqual(got, c.want) {
				t.Errorf("events\n got %q\nwant %q", got, c.want)
			}
			checkEvents(t, evs)
		})
	}
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, f := range files {
		if rel := strings.TrimPrefix(filepath.ToSlash(f), "testdata/"); !listed[rel] {
			t.Errorf("fixture %s is not in the table", rel)
		}
	}
}

// checkEvents holds for every event any parser yields: the repository parses back to
// itself, the tag is a valid tag, and no Source is set (the handler sets it).
func checkEvents(t testing.TB, evs []registry.PushEvent) {
	t.Helper()
	for _, e := range evs {
		r, err := name.NewRepository(e.Repo.Name())
		if err != nil || r.Name() != e.Repo.Name() {
			t.Fatalf("event repo %q does not parse back: %v", e.Repo.Name(), err)
		}
		if _, err := name.NewTag(e.Repo.Name()+":"+e.Tag, name.StrictValidation); err != nil || !validTag(e.Tag) {
			t.Fatalf("event tag %q is not a valid tag: %v", e.Tag, err)
		}
		if e.Source != "" {
			t.Fatalf("parser set Source %q", e.Source)
		}
	}
}

func TestParsersMalformedJSON(t *testing.T) {
	for src, parse := range parsers {
		for _, body := range []string{"", "{", "[]", `"x"`, "null x", `{"events":{}}`} {
			_, err := parse([]byte(body))
			if body == "" || body == "{" || body == "null x" || body == "[]" || body == `"x"` {
				if !errors.Is(err, errMalformed) {
					t.Errorf("%s(%q): err = %v, want malformed", src, body, err)
				}
			}
		}
	}
}

func TestDistributionHostOverride(t *testing.T) {
	evs, err := parseDistributionHost(fixture(t, "distribution", "internal-host"), "registry.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(evs); !reflect.DeepEqual(got, []string{"registry.example.com/team/app:v1#evt-13"}) {
		t.Errorf("got %q", got)
	}
}

func TestSplitTagged(t *testing.T) {
	for in, want := range map[string][3]string{
		"h.io/p/r:t":         {"h.io", "p/r", "t"},
		"h.io:5000/p/r:t":    {"h.io:5000", "p/r", "t"},
		"h.io:5000/p/r":      {},
		"h.io/p/r@sha256:ab": {},
		"r:t":                {},
	} {
		h, p, tag, ok := splitTagged(in)
		if got := [3]string{h, p, tag}; ok != (want != [3]string{}) || (ok && got != want) {
			t.Errorf("%q: %q %v", in, got, ok)
		}
	}
}

// TestBadNames: names that ggcr's character check lets through but that are no
// repository (they would become request paths such as /v2/a/../b/manifests/v1), and
// hosts that are no host, are refused; one bad event in an envelope does not fail the
// others.
func TestBadNames(t *testing.T) {
	for _, p := range []string{"a/../b", "..", "a//b", "/a", "a/", "a/./b", "a..b", "-a", "a-", "_a", ".a", "a/.hidden", "a___b", strings.Repeat("a", 250)} {
		if ev, err := newEvent("registry.example.com", p, "v1", ""); !errors.Is(err, errBadName) {
			t.Errorf("path %q: %v, %v", p, ev, err)
		}
	}
	for _, h := range []string{"rég.example.com", "a..b", ".example.com", "-reg.example.com", "reg.example.com:", "reg.example.com:99999", "reg.example.com:0", strings.Repeat("a.", 200) + "com"} {
		if ev, err := newEvent(h, "team/app", "v1", ""); !errors.Is(err, errBadName) {
			t.Errorf("host %q: %v, %v", h, ev, err)
		}
	}
	for _, p := range []string{"a", "team/app", "a.b/c_d/e__f/g-h/i---j", "library/nginx"} {
		if _, err := newEvent("registry.example.com:5000", p, "v1", ""); err != nil {
			t.Errorf("path %q: %v", p, err)
		}
	}
	for _, h := range []string{"localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:5000", "reg.example.com", "my-reg.example.com:443"} {
		if _, err := newEvent(h, "team/app", "v1", ""); err != nil {
			t.Errorf("host %q: %v", h, err)
		}
	}
	body := []byte(`{"events":[
	 {"id":"1","action":"push","target":{"repository":"team/../admin","tag":"v1"},"request":{"host":"registry.example.com"}},
	 {"id":"2","action":"push","target":{"repository":"team/app","tag":"v1"},"request":{"host":"registry.example.com"}}]}`)
	evs, err := parseDistribution(body)
	if err != nil || len(evs) != 1 || evs[0].Key() != "registry.example.com/team/app:v1" {
		t.Fatalf("%v %v", keys(evs), err)
	}
	if _, err := parseDockerHub([]byte(`{"push_data":{"tag":"v1"},"repository":{"repo_name":"acme/../x"}}`)); !errors.Is(err, errBadName) {
		t.Fatalf("dockerhub: %v", err)
	}
}
