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

// A semver policy moves a service of a docker-compose (v1) project from :1.4 to :1.5.
// With rollout.compose_file: write, hoist rewrites the image value in the project's file
// (its comments kept) and `docker-compose up -d` keeps 1.5 running; without it, the file
// is left alone and the rollout's record says that it still names :1.4.
func TestE2EComposeTagChange(t *testing.T) {
	t.Parallel()
	for _, write := range []bool{true, false} {
		name := map[bool]string{true: "write", false: "warn"}[write]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			composeTagChange(t, write)
		})
	}
}

func composeTagChange(t *testing.T, write bool) {
	dc, reg := testenv.Docker(t), testenv.NewRegistry(t)
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		testenv.Missing(t, "docker-compose (Debian's 1.29) is not installed")
	}
	proj := "e2ectag" + randHex(3)
	repo := reg.Host + "/" + proj
	testenv.PushApp(t, repo+":1.4", testenv.App{Version: "1.4"})
	dir := t.TempDir()
	file := filepath.Join(dir, "docker-compose.yml")
	const head = "# shop: the web app\nservices:\n  web:\n    # the tag hoist moves\n"
	body := head + "    image: " + repo + ":1.4   # pinned minor\n    labels:\n      hoist.policy: " + proj + "\n    restart: unless-stopped\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	up := composeRunner(t, compose, dir, proj)
	up("up", "-d")
	t.Cleanup(func() { up("down", "--remove-orphans") })
	want := repo + ":1.5@" + testenv.PushApp(t, repo+":1.5", testenv.App{Version: "1.5"}).String()

	mode := ""
	if write {
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
	r := h.waitRollout(t, "container/"+proj+"_web_1", 2*time.Minute)
	if r.Outcome != updater.Succeeded || r.To != want {
		t.Fatalf("rollout: %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, want)
	}
	t.Logf("reason: %s", r.Reason)
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	check := hoistCheck(t, h, "container/"+proj+"_web_1")
	if !write {
		if string(got) != body || !strings.Contains(r.Reason, "still names :1.4") {
			t.Fatalf("compose_file: warn: file\n%s\nreason %q, want the file unchanged and the reason to say it still names :1.4", got, r.Reason)
		}
		if !strings.Contains(check, "still names :1.4; `docker compose up` would downgrade") {
			t.Fatalf("hoist check does not say the compose file still names :1.4:\n%s", check)
		}
		// What the dashboard reads (the check's workloads) says it too.
		var sts []updater.Status
		h.getJSON(t, "/api/v1/workloads", &sts)
		note := ""
		for _, st := range sts {
			if st.Workload.Key() == "container/"+proj+"_web_1" {
				note = st.Workload.Compose
			}
		}
		if !strings.Contains(note, "still names :1.4") {
			t.Fatalf("workload's compose note %q, want it to say the file still names :1.4", note)
		}
		return
	}
	if strings.Contains(check, "still names") {
		t.Errorf("hoist check after the file was written:\n%s", check)
	}
	if wantFile := strings.Replace(body, ":1.4   #", ":1.5   #", 1); string(got) != wantFile {
		t.Fatalf("compose file after the rollout:\n%s\nwant:\n%s\n(reason %q)", got, wantFile, r.Reason)
	}
	if bak, err := os.ReadFile(file + composefile.BackupSuffix); err != nil || string(bak) != body {
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
