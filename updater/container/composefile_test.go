package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/hoist-dev/hoist/composefile"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// A compose member's swap to another tag was cut during its watch: the hoist that
// resumes and finishes it also updates the compose file (compose_file: write), and the
// listing then finds nothing to say about it.
func TestResumeComposeFile(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("1.4", testenv.App{Version: "1.4"})
	v2 := e.push("1.5", testenv.App{Version: "1.5"})
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	body := "services:\n  web:\n    image: " + v1.Tag.String() + " # pinned\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{labelComposeProject: e.prefix, composefile.LabelService: "web",
		composefile.LabelConfigFiles: file, composefile.LabelWorkingDir: dir}
	old := e.run("", v1.Tag.String(), &container.Config{Labels: labels}, nil, nil)
	if err := e.b.pull(e.ctx, v2.Image(), ""); err != nil {
		t.Fatal(err)
	}
	s := e.b.newSwap(old, v2.Image(), plan(), e.log)
	if err := s.replace(e.ctx, e.ctx); err != nil {
		t.Fatal(err)
	}
	if w := e.listed(s.newID); !strings.Contains(w.Compose, "still names :1.4") {
		t.Errorf("listing during the swap: compose note %q, want it to say the file still names :1.4", w.Compose)
	}
	// Here the hoist that made the swap was killed.
	p := plan()
	p.ComposeFile = policy.ComposeWrite
	rec := updater.Rollout{Workload: "container/" + e.prefix, From: v1.Tag.String(), To: v2.Image(), Phase: updater.PhaseWatching}
	res := e.b.Resume(e.ctx, updater.Workload{Kind: "container", Name: e.prefix}, rec, v2, p, nil, e.log)
	if res.Outcome != updater.Succeeded || !strings.Contains(res.Reason, "compose file updated") {
		t.Fatalf("outcome %s (%s), want succeeded with the compose file updated", res.Outcome, res.Reason)
	}
	got, err := os.ReadFile(file)
	if want := strings.Replace(body, ":1.4 #", ":1.5 #", 1); err != nil || string(got) != want {
		t.Fatalf("compose file %q (%v), want %q", got, err, want)
	}
	if w := e.listed(s.newID); w.Compose != "" {
		t.Errorf("listing after the file was written: compose note %q", w.Compose)
	}
}
