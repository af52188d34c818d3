package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// From a Watchtower setup on the real engine to hoist: containers carry Watchtower's
// labels (one enabled, one disabled, one monitor-only, all in one scope) and a container
// named like Watchtower carries its environment (HTTP API mode, label-enable, scope,
// cleanup, a notification URL, registry credentials). hoist import watchtower writes
// the file; hoist serve runs it unchanged (an api token added to read the records). With
// polling off, as Watchtower's HTTP API mode had it, only POST /v1/update moves the
// enabled container: not without the token, not with a wrong one; then every workload,
// then ?image=. The monitor-only container gets a record that an update is available
// and stays; the disabled one and the Watchtower container are never touched.
func TestE2EWatchtowerImport(t *testing.T) {
	t.Parallel()
	dc, reg := shared(t)
	ctx := context.Background()
	p := "e2e-wt-" + randHex(3)
	repo := reg.Host + "/" + p + "/app"
	testenv.PushApp(t, repo+":stable", testenv.App{Version: "1"})
	wtImage := reg.Host + "/" + p + "/watchtower:latest"
	testenv.PushApp(t, wtImage, testenv.App{Version: "wt"})
	t.Cleanup(func() { wtRemove(dc, p) })

	token, notified := randHex(16), newSink(t)
	with := func(kv ...string) map[string]string {
		l := map[string]string{policy.WatchtowerScope: p}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return l
	}
	enabled := wtRun(t, dc, p+"-enabled", repo+":stable", with(policy.WatchtowerEnable, "true"), nil)
	disabled := wtRun(t, dc, p+"-disabled", repo+":stable", with(policy.WatchtowerEnable, "false"), nil)
	monitor := wtRun(t, dc, p+"-monitor", repo+":stable", with(policy.WatchtowerEnable, "true", policy.WatchtowerMonitorOnly, "true"), nil)
	wt := wtRun(t, dc, p+"-watchtower", wtImage, map[string]string{policy.WatchtowerMarker: "true"}, []string{
		"WATCHTOWER_HTTP_API_UPDATE=true", "WATCHTOWER_HTTP_API_TOKEN=" + token, "WATCHTOWER_LABEL_ENABLE=true",
		"WATCHTOWER_SCOPE=" + p, "WATCHTOWER_CLEANUP=true", "WATCHTOWER_NOTIFICATION_URL=generic+" + notified.URL,
		"REPO_USER=ci", "REPO_PASS=pass-" + token,
	})

	// Without --container, the container named like Watchtower is found (or, when other
	// tests run one too, named among the candidates).
	var found, report bytes.Buffer
	if err := run(ctx, []string{"import", "watchtower", "--out", "-"}, os.Getenv, &found, &report); err != nil {
		if !strings.Contains(err.Error(), "Watchtower containers") || !strings.Contains(err.Error(), p+"-watchtower") {
			t.Fatalf("import without --container: %v", err)
		}
	} else if !strings.Contains(found.String(), "container "+p+"-watchtower") {
		t.Fatalf("import without --container read another container:\n%s", found.String())
	} else if strings.Contains(found.String(), "next:") || !strings.Contains(report.String(), "WATCHTOWER_HTTP_API_TOKEN") {
		t.Fatalf("with --out -, stdout must hold the file alone and stderr the rest:\n%s\n--\n%s", found.String(), report.String())
	}

	// hoist import watchtower, through the CLI.
	dir := t.TempDir()
	cfgPath, envPath := filepath.Join(dir, "hoist.yaml"), filepath.Join(dir, "hoist.env")
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"import", "watchtower", "--container", p + "-watchtower", "--out", cfgPath, "--env-file", envPath}, os.Getenv, &out, &errb); err != nil {
		t.Fatalf("hoist import watchtower: %v\n%s%s", err, out.String(), errb.String())
	}
	t.Logf("hoist import watchtower:\n%s", out.String())
	file, _ := os.ReadFile(cfgPath)
	for _, want := range []string{"label_enable: true", `scope: "` + p + `"`, "prune_images: true", "interval: 0s", "token: ${WATCHTOWER_HTTP_API_TOKEN}",
		"url: ${WATCHTOWER_NOTIFICATION_URL}", `host: "` + reg.Host + `"`, "password: ${REPO_PASS}"} {
		if !bytes.Contains(file, []byte(want)) {
			t.Errorf("imported file lacks %q:\n%s", want, file)
		}
	}
	if bytes.Contains(file, []byte(token)) || bytes.Contains(file, []byte(notified.URL)) {
		t.Fatalf("a secret was written into the file:\n%s", file)
	}
	for _, want := range []string{"WATCHTOWER_HTTP_API_TOKEN", "REPO_PASS", "WATCHTOWER_NOTIFICATION_URL", "next: stop Watchtower"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("import output does not mention %s", want)
		}
	}
	env := wtReadEnv(t, envPath)
	if env["WATCHTOWER_HTTP_API_TOKEN"] != token || env["REPO_PASS"] != "pass-"+token {
		t.Fatalf("env file: %v", env)
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	out.Reset()
	if err := run(ctx, []string{"validate", "--config", cfgPath}, getenv, &out, &out); err != nil {
		t.Fatalf("hoist validate of the imported file: %v\n%s", err, out.String())
	}

	// hoist serve with the imported file (an API token added, to read the records).
	apiToken := randHex(16)
	if err := os.WriteFile(cfgPath, append(file, []byte("\napi: { token: "+apiToken+" }\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	h := wtServe(t, cfgPath, dir, apiToken, getenv)
	d2 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "2"})
	if rs := h.rollouts(t, "container/"+p+"-enabled"); len(rs) != 0 {
		t.Fatalf("a rollout before any trigger (polling is off): %+v", rs)
	}
	for _, auth := range []string{"", "Bearer " + randHex(16), apiToken} {
		headers := map[string]string{}
		if auth != "" {
			headers["Authorization"] = auth
		}
		if code := post(t, h.URL+"/v1/update", headers, ""); code != http.StatusUnauthorized {
			t.Fatalf("POST /v1/update with Authorization %q: %d, want 401", auth, code)
		}
	}
	if code := post(t, h.URL+"/v1/update", map[string]string{"Authorization": "Bearer " + token}, ""); code != http.StatusAccepted {
		t.Fatalf("POST /v1/update with the token: %d, want 202", code)
	}
	r := h.waitRollout(t, "container/"+p+"-enabled", 3*time.Minute)
	if r.Outcome != updater.Succeeded || !strings.HasSuffix(r.To, d2.String()) || r.Trigger != "watchtower" {
		t.Fatalf("enabled container: %s to %s by %s (%s)", r.Outcome, r.To, r.Trigger, r.Reason)
	}
	if img := wtImageOf(t, dc, p+"-enabled"); !strings.HasSuffix(img, d2.String()) {
		t.Fatalf("enabled container runs %s, want %s", img, d2)
	}
	if now, _ := dc.ContainerInspect(ctx, p+"-enabled", client.ContainerInspectOptions{}); now.Container.ID == enabled.ID {
		t.Fatal("the enabled container was not replaced")
	}
	m := h.waitRollout(t, "container/"+p+"-monitor", 30*time.Second)
	if m.Outcome != updater.Skipped || !strings.Contains(m.Reason, "update available") || !strings.HasSuffix(m.To, d2.String()) {
		t.Fatalf("monitor-only container: %s to %s (%s), want skipped: update available", m.Outcome, m.To, m.Reason)
	}
	msgs := notified.wait(t, 2)
	if joined := strings.Join(msgs, "\n"); !strings.Contains(joined, p+"-enabled") || !strings.Contains(joined, p+"-monitor") {
		t.Errorf("notifications through the imported URL: %q", msgs)
	}

	// ?image= checks that repository only.
	d3 := testenv.PushApp(t, repo+":stable", testenv.App{Version: "3"})
	if code := post(t, h.URL+"/v1/update?image="+repo, map[string]string{"Authorization": "Bearer " + token}, ""); code != http.StatusAccepted {
		t.Fatalf("POST /v1/update?image=: %d", code)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rs := h.rollouts(t, "container/"+p+"-enabled")
		if len(rs) >= 2 && rs[0].Outcome != updater.Running {
			if rs[0].Outcome != updater.Succeeded || !strings.HasSuffix(rs[0].To, d3.String()) {
				t.Fatalf("after ?image=: %s to %s (%s)", rs[0].Outcome, rs[0].To, rs[0].Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no rollout to v3 after POST /v1/update?image=")
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Never touched: the disabled container, the monitor-only one, Watchtower's.
	for _, c := range []container.InspectResponse{disabled, monitor, wt} {
		now, err := dc.ContainerInspect(ctx, strings.TrimPrefix(c.Name, "/"), client.ContainerInspectOptions{})
		if err != nil || now.Container.ID != c.ID || now.Container.Config.Image != c.Config.Image || !now.Container.State.Running {
			t.Errorf("%s was changed: %v", c.Name, err)
		}
		if rs := h.rollouts(t, "container/"+strings.TrimPrefix(c.Name, "/")); c.ID != monitor.ID && len(rs) != 0 {
			t.Errorf("%s has records: %+v", c.Name, rs)
		}
	}
}

// wtServe runs hoist serve with the file at path (listen and data directory given as
// flags) until the test ends.
func wtServe(t *testing.T, path, dir, apiToken string, getenv func(string) string) *hoistProc {
	t.Helper()
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", path, "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--log-level", "debug"}, getenv, io.Discard, logs)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("hoist serve: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("hoist logs:\n%s", logs.String())
		}
	})
	h := &hoistProc{URL: "http://" + addr, Config: path, Token: apiToken, logs: logs, stop: stop}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("hoist serve exited: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(h.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoist did not come up:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wtRun pulls image and runs it as name with labels and env.
func wtRun(t *testing.T, dc *client.Client, name, image string, labels map[string]string, env []string) container.InspectResponse {
	t.Helper()
	ctx := context.Background()
	pull, err := dc.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, pull)
	pull.Close()
	cr, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name,
		Config: &container.Config{Image: image, Labels: labels, Env: env}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := dc.ContainerInspect(ctx, cr.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Container
}

func wtImageOf(t *testing.T, dc *client.Client, name string) string {
	t.Helper()
	r, err := dc.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Container.Config.Image
}

// wtRemove removes every container whose name contains prefix.
func wtRemove(dc *client.Client, prefix string) {
	ctx := context.Background()
	cl, _ := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", prefix)})
	for _, c := range cl.Items {
		dc.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
}

func wtReadEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			env[k] = v
		}
	}
	return env
}
