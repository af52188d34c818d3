package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/composefile"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// A semver policy moves a service of a compose project (Debian's docker-compose 1.29,
// and Compose v2 when HOIST_COMPOSE_V2 names its binary) from :1.4 to :1.5.
// With rollout.compose_file: write, hoist rewrites the image value in the project's file
// (its comments kept), or TAG in its .env when the file says ${TAG}, and
// `docker-compose up -d` keeps 1.5 running; without it, the file is left alone and the
// rollout's record, hoist check and the workloads the dashboard reads say that it still
// names :1.4.
func TestE2EComposeTagChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []composeTagCase{
		{name: "write", write: true}, {name: "write-env", write: true, env: true}, {name: "warn"},
		{name: "v2-write", write: true, v2: true}, {name: "v2-warn", v2: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			composeTagChange(t, tc)
		})
	}
}

type composeTagCase struct {
	name           string
	write, env, v2 bool
}

// composeBin is the compose binary of the case, and the separator in the names of the
// containers it makes.
func (tc composeTagCase) composeBin(t *testing.T) (bin, sep string) {
	t.Helper()
	if tc.v2 {
		bin = os.Getenv("HOIST_COMPOSE_V2")
		if bin == "" {
			testenv.Missing(t, "HOIST_COMPOSE_V2 names no Compose v2 binary (scripts/test.sh builds one)")
		}
		return bin, "-"
	}
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		testenv.Missing(t, "docker-compose (Debian's 1.29) is not installed")
	}
	return bin, "_"
}

// composeTagProject writes the project: the file hoist edits, as it is and as it
// should be after a written tag change.
func composeTagProject(t *testing.T, dir, repo, proj string, env bool) (edited, before, after string) {
	t.Helper()
	image := repo + ":1.4"
	if env {
		image = repo + ":${TAG}"
		before, after = "# deployment\nTAG=1.4\n", "# deployment\nTAG=1.5\n"
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(before), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body := "# shop: the web app\nservices:\n  web:\n    # the tag hoist moves\n    image: " + image +
		"   # pinned minor\n    labels:\n      hoist.policy: " + proj + "\n    restart: unless-stopped\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if env {
		return filepath.Join(dir, ".env"), before, after
	}
	return filepath.Join(dir, "docker-compose.yml"), body, strings.Replace(body, ":1.4   #", ":1.5   #", 1)
}

func composeTagChange(t *testing.T, tc composeTagCase) {
	dc, reg := shared(t)
	compose, sep := tc.composeBin(t)
	proj := "e2ectag" + randHex(3)
	repo := reg.Host + "/" + proj
	testenv.PushApp(t, repo+":1.4", testenv.App{Version: "1.4"})
	dir := t.TempDir()
	edited, before, after := composeTagProject(t, dir, repo, proj, tc.env)
	up := composeRunner(t, compose, dir, proj)
	up("up", "-d")
	t.Cleanup(func() { up("down", "--remove-orphans") })
	want := repo + ":1.5@" + testenv.PushApp(t, repo+":1.5", testenv.App{Version: "1.5"}).String()

	mode := ""
	if tc.write {
		mode = ", compose_file: write"
	}
	h := startHoist(t, `poll: { interval: 1s }
policies:
  - name: `+proj+`
    update: semver
    semver: "^1.4"
    rollout: { monitor: 1s`+mode+` }
    health: { watch: 2s, timeout: 2m }
`, nil)
	key := "container/" + proj + sep + "web" + sep + "1"
	r := h.waitRollout(t, key, 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != want {
		t.Fatalf("rollout: %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, want)
	}
	t.Logf("reason: %s", r.Reason)
	got, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	check := hoistCheck(t, h, key)
	if !tc.write {
		if string(got) != before || !strings.Contains(r.Reason, "still names :1.4") {
			t.Fatalf("compose_file: warn: file\n%s\nreason %q, want the file unchanged and the reason to say it still names :1.4", got, r.Reason)
		}
		composeWarned(t, h, key, check)
		// The warning is true: compose, recreating the service, goes back to 1.4.
		h.stop()
		up("up", "-d", "--force-recreate")
		if ms := composeMembers(t, dc, proj); len(ms) != 1 || ms[0].Config.Image != repo+":1.4" {
			t.Fatalf("after docker-compose up -d --force-recreate: %v, want one container on %s:1.4", imagesOf(ms), repo)
		}
		return
	}
	if strings.Contains(check, "still names") {
		t.Errorf("hoist check after the file was written:\n%s", check)
	}
	if string(got) != after {
		t.Fatalf("%s after the rollout:\n%s\nwant:\n%s\n(reason %q)", edited, got, after, r.Reason)
	}
	if bak, err := os.ReadFile(edited + composefile.BackupSuffix); err != nil || string(bak) != before {
		t.Errorf("backup: %q %v, want the file as it was", bak, err)
	}
	if !strings.Contains(r.Reason, "compose file updated") {
		t.Errorf("reason %q does not say the compose file was updated", r.Reason)
	}
	h.stop()
	up("up", "-d")
	members := composeMembers(t, dc, proj)
	if len(members) != 1 || !strings.HasPrefix(members[0].Config.Image, repo+":1.5") || !members[0].State.Running {
		t.Fatalf("after docker-compose up -d: %d containers %v, want one running %s:1.5", len(members), imagesOf(members), repo)
	}
	if id := imageID(t, dc, want); members[0].Image != id {
		t.Errorf("web runs image %s, want %s (%s)", members[0].Image, id, want)
	}
}

// composeWarned checks that hoist check and the workloads the dashboard reads say the
// compose file still names :1.4.
func composeWarned(t *testing.T, h *hoistProc, key, check string) {
	t.Helper()
	if !strings.Contains(check, "still names :1.4; `docker compose up` would downgrade") {
		t.Fatalf("hoist check does not say the compose file still names :1.4:\n%s", check)
	}
	var sts []updater.Status
	h.getJSON(t, "/api/v1/workloads", &sts)
	note := ""
	for _, st := range sts {
		if st.Workload.Key() == key {
			note = st.Workload.Compose
		}
	}
	if !strings.Contains(note, "still names :1.4") {
		t.Fatalf("workload's compose note %q, want it to say the file still names :1.4", note)
	}
}

// hoistCheck runs hoist check against the running hoist and returns the line it
// printed for the workload key.
func hoistCheck(t *testing.T, h *hoistProc, key string) string {
	t.Helper()
	var out, errb strings.Builder
	if err := run(context.Background(), []string{"check", "--config", h.Config, "--wide"}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("hoist check: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, key+" ") {
			return line
		}
	}
	t.Fatalf("hoist check printed no line for %s:\n%s\nstderr:\n%s", key, out.String(), errb.String())
	return ""
}

// composeRunner runs docker-compose in dir for project proj against the test engine.
func composeRunner(t *testing.T, compose, dir, proj string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, compose, append([]string{"-p", proj}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "COMPOSE_INTERACTIVE_NO_CLI=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// composeMembers are the containers compose counts as the project's (all states).
func composeMembers(t *testing.T, dc *client.Client, proj string) []container.InspectResponse {
	t.Helper()
	ctx := context.Background()
	f := make(client.Filters).Add("label", "com.docker.compose.project="+proj)
	l, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var out []container.InspectResponse
	for _, c := range l.Items {
		r, err := dc.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Container)
	}
	return out
}

func imagesOf(cs []container.InspectResponse) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+"="+c.Config.Image)
	}
	return out
}

func imageID(t *testing.T, dc *client.Client, ref string) string {
	t.Helper()
	r, err := dc.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatalf("inspect image %s: %v", ref, err)
	}
	return r.ID
}
