package composefile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, dir, running string
		files              []string
		want               string // in the drift's text; "" for no drift
		reason             Reason
	}{
		{name: "file names the running tag", dir: "comments", running: repo + ":1.4", files: []string{"compose.yaml"}},
		{name: "pinned form of the same tag", dir: "comments", running: repo + ":1.4@" + digest1, files: []string{"compose.yaml"}},
		{name: "tag moved", dir: "comments", running: repo + ":1.5@" + digest2, files: []string{"compose.yaml"}, want: "still names :1.4; `docker compose up` would downgrade"},
		{name: "tag from .env", dir: "env", running: repo + ":1.5", files: []string{"compose.yaml"}, want: "still names :1.4"},
		{name: "override wins", dir: "override", running: repo + ":1.4", files: []string{"docker-compose.yml", "docker-compose.override.yml"}},
		{name: "pinned digest differs", dir: "digest", running: repo + ":1.4@" + digest2, files: []string{"compose.yaml"}, want: "still names " + repo + ":1.4@" + digest1},
		{name: "extends", dir: "extends", running: repo + ":1.5", files: []string{"compose.yaml"}, reason: Extends},
		{name: "variable from the caller's environment", dir: "env-missing", running: repo + ":1.5", files: []string{"compose.yaml"}, reason: Variable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := project(t, tc.dir, "web", tc.files...)
			d, err := Check(p, tc.running)
			if tc.reason != "" {
				if ReasonOf(err) != tc.reason {
					t.Fatalf("err %v, want %q", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && d != nil:
				t.Errorf("drift %s, want none", d)
			case tc.want != "" && (d == nil || !strings.Contains(d.String(), tc.want)):
				t.Errorf("drift %v, want %q", d, tc.want)
			}
		})
	}
}

func TestFromLabels(t *testing.T) {
	p, ok := FromLabels(map[string]string{
		LabelConfigFiles: "/srv/shop/compose.yaml,/srv/shop/compose.prod.yaml",
		LabelWorkingDir:  "/srv/shop",
		LabelService:     "web",
	})
	if !ok || len(p.Files) != 2 || p.Files[1] != "/srv/shop/compose.prod.yaml" || p.Service != "web" {
		t.Errorf("FromLabels: %+v %v", p, ok)
	}
	if _, ok := FromLabels(map[string]string{LabelService: "web"}); ok {
		t.Error("a container without compose's file labels is a compose project")
	}
}

func TestParseEnv(t *testing.T) {
	data := "# c\nA=1\nexport B = 'two words' # x\nC=three # note\nA=4\n\nbad line\n"
	env := parseEnv([]byte(data))
	for k, want := range map[string]string{"A": "4", "B": "two words", "C": "three"} {
		e, ok := env[k]
		if !ok || e.value != want || data[e.start:e.end] != want {
			t.Errorf("%s: %+v, want %q", k, e, want)
		}
	}
}

// Compose v1 records the files as it was given them: relative to the project directory.
func TestFromLabelsRelative(t *testing.T) {
	p, ok := FromLabels(map[string]string{LabelConfigFiles: "docker-compose.yml", LabelWorkingDir: "/srv/shop", LabelService: "web"})
	if !ok || len(p.Files) != 1 || p.Files[0] != "/srv/shop/docker-compose.yml" {
		t.Errorf("FromLabels: %+v %v", p, ok)
	}
}

// BenchmarkCheck is what a listing spends on one compose member: read and parse its
// project's files and .env, and compare.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	var body strings.Builder
	body.WriteString("services:\n")
	for i := range 30 {
		fmt.Fprintf(&body, "  svc%d:\n    image: %s:${TAG}  # service %d\n    ports: [\"%d:80\"]\n    environment:\n      A: \"1\"\n", i, repo, i, 8000+i)
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(body.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("TAG=1.4\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	p := Project{Files: []string{filepath.Join(dir, "compose.yaml")}, WorkingDir: dir, Service: "svc29"}
	for b.Loop() {
		if _, err := Check(p, repo+":1.5"); err != nil {
			b.Fatal(err)
		}
	}
}
