package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/apiclient"
	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// The whole demo, non-interactively (--yes), on the real engine in Swarm mode: each
// step's outcome read from hoist's API while it serves, the availability figure, the
// time to the first completed rollout, and nothing of the demo left on the engine.
func TestDemoSwarm(t *testing.T) {
	t.Parallel()
	res, out := runDemoTest(t, false)
	if a := res.avail; a.Ratio() < 0.95 {
		t.Errorf("the service answered %d of %d requests; start-first on 2 replicas should keep it above 95%%\n%s", a.Answered, a.Sampled, out)
	}
	for _, want := range []string{"1/2 tasks run v2", "2/2 tasks run v2", `Swarm says: completed`} {
		if !strings.Contains(out, want) {
			t.Errorf("the story lacks %q:\n%s", want, out)
		}
	}
}

// The demo on a standalone container (--containers), without --yes: the update held
// for approval is approved with the very command the demo prints. With --keep hoist
// serves until the run is interrupted, the container and images stay, and --clean
// removes them.
func TestDemoContainers(t *testing.T) {
	t.Parallel()
	res, out := runDemoTest(t, true)
	// Each stop-first swap of the published port costs about 0.5 s of misses (1.5 s on a
	// loaded machine): 95% when idle, 84% seen under a full test run.
	if a := res.avail; a.Ratio() < 0.75 {
		t.Errorf("the container answered %d of %d requests; stop-first swaps should keep it above 75%%\n%s", a.Answered, a.Sampled, out)
	}
	if !strings.Contains(out, "the new container runs v2 and is healthy") {
		t.Errorf("the story lacks the container's swap:\n%s", out)
	}
}

// runDemoTest runs the demo (containers: --containers --keep, then --clean) and
// checks what every demo must show. It returns the run's figures and output.
func runDemoTest(t *testing.T, containers bool) (demoResult, string) {
	dc := testenv.Shared(t).Docker
	bin := demoBinary(t)
	name := "hoist-demo-t" + randToken()[:6]
	dir := filepath.Join(t.TempDir(), "demo")
	out := &lockedBuffer{}
	t.Cleanup(func() { removeDemo(context.Background(), dc, name, true, func(string) {}) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var d *demoRun
	seen := map[string]bool{}
	o := Options{
		Name: name, Port: demoFreePort(t), PortSet: true, Containers: containers, Keep: containers, Yes: !containers,
		Binary: bin, Dir: dir, ApproveWait: time.Minute, Out: out,
	}
	// Checks run while hoist serves; they must not stop the run (t.Errorf, not Fatal),
	// so the demo always gets to clean up.
	o.Checkpoint = func(step string, api *apiclient.Client) {
		seen[step] = true
		checkDemoStep(t, ctx, d, api, step)
		switch {
		case step == "held" && !o.Yes:
			approveAsPrinted(t, ctx, out.String())
		case step == "keep":
			checkDashboard(t, ctx, d)
			cancel() // Ctrl-C
		}
	}
	d = newDemoRun(o)
	res, err := d.run(ctx)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	text := out.String()
	for _, step := range []string{"setup", "rollout", "rollback", "held", "approved", "summary"} {
		if !seen[step] {
			t.Errorf("the demo never reached step %q:\n%s", step, text)
		}
	}
	for _, want := range []string{
		"the registry's webhook reached hoist: POST /webhooks/distribution → 202",
		"hoist asked the registry itself",
		"rollout #1 started: v1 → v2 (trigger distribution",
		"hoist's record says:",
		"v3 is quarantined",
		"pushed v3 again",
		"ignored: no rollout; hoist says quarantined",
		"held: v4 waits for approval",
		"approve it with:",
		map[bool]string{true: "--yes: the demo approves it", false: "approved (hoist approve)"}[!containers],
		"trigger approve",
		fmt.Sprintf("The app answered %d of %d requests", res.avail.Answered, res.avail.Sampled),
		"First completed rollout",
		"— log in with the API token " + d.apiToken,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the story lacks %q:\n%s", want, text)
		}
	}
	if res.avail.Sampled < 100 {
		t.Errorf("only %d samples of the app's answers", res.avail.Sampled)
	}
	if res.firstRollout <= 0 || res.firstRollout > 90*time.Second {
		t.Errorf("first completed rollout %s after the command; the goal is under 60s", res.firstRollout)
	}
	t.Logf("%s mode: first completed rollout after %.1fs, demo %.1fs, answered %d of %d (%.1f%%)",
		map[bool]string{false: "Swarm", true: "container"}[containers], res.firstRollout.Seconds(), res.total.Seconds(),
		res.avail.Answered, res.avail.Sampled, 100*res.avail.Ratio())

	if containers && !strings.Contains(text, "Press Ctrl-C to stop hoist and the registry; then ") {
		t.Errorf("--keep does not say how to stop it:\n%s", text)
	}
	if containers {
		// --keep left the container, its images and the data; --clean removes them.
		if left := demoLeft(t, dc, name); left == "" {
			t.Errorf("--keep left nothing on the engine")
		}
		if _, err := os.Stat(filepath.Join(dir, "hoist.yaml")); err != nil {
			t.Errorf("--keep left no data: %v", err)
		}
		clean := Options{Name: name, Clean: true, Dir: dir, Binary: bin, Out: out}
		if _, err := newDemoRun(clean).run(context.Background()); err != nil {
			t.Fatalf("demo --clean: %v\n%s", err, out)
		}
	}
	if left := demoLeft(t, dc, name); left != "" {
		t.Errorf("left on the engine after the demo: %s", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the demo's data dir %s is still there (%v)", dir, err)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out)
	}
	return res, text
}

func TestDemoLocalEngine(t *testing.T) {
	for host, want := range map[string]bool{
		"unix:///var/run/docker.sock": true, "tcp://127.0.0.1:2375": true, "tcp://localhost:2375": true,
		"tcp://[::1]:2375": true, "tcp://10.0.0.5:2376": false, "ssh://me@box": false,
	} {
		if got := localEngine(host); got != want {
			t.Errorf("localEngine(%q) = %v, want %v", host, got, want)
		}
	}
}

// checkDemoStep asserts, from hoist's API, what the step just told.
func checkDemoStep(t *testing.T, ctx context.Context, d *demoRun, api *apiclient.Client, step string) {
	t.Helper()
	key := d.wl.key()
	rs, err := api.Rollouts(ctx, key, 0)
	if err != nil {
		t.Errorf("%s: %v", step, err)
		return
	}
	want := map[string][]updater.Outcome{
		"setup":    nil,
		"rollout":  {updater.Succeeded},
		"rollback": {updater.RolledBack, updater.Succeeded},
		"held":     {updater.RolledBack, updater.Succeeded},
		"approved": {updater.Succeeded, updater.RolledBack, updater.Succeeded},
		"summary":  {updater.Succeeded, updater.RolledBack, updater.Succeeded},
		"keep":     {updater.Succeeded, updater.RolledBack, updater.Succeeded},
	}[step]
	var got []updater.Outcome
	for _, r := range rs {
		got = append(got, r.Outcome)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after step %s: outcomes newest first %v, want %v: %+v", step, got, want, rs)
		return
	}
	to := func(i int) string { return registry.DigestOf(rs[i].To) }
	switch step {
	case "rollout":
		if rs[0].Trigger != "distribution" || to(0) != d.digests["v2"] {
			t.Errorf("first rollout: trigger %s to %s, want distribution to v2 %s", rs[0].Trigger, to(0), d.digests["v2"])
		}
	case "rollback", "held":
		if to(0) != d.digests["v3"] {
			t.Errorf("the rolled back rollout went to %s, want v3 %s", to(0), d.digests["v3"])
		}
		st, err := api.Workload(ctx, key)
		if err != nil {
			t.Errorf("%s: %v", step, err)
			return
		}
		if len(st.Quarantined) != 1 || st.Quarantined[0].Digest != d.digests["v3"] {
			t.Errorf("quarantined %+v, want v3 %s", st.Quarantined, d.digests["v3"])
		}
		if step == "held" && (st.Action != updater.AwaitingApproval || registry.DigestOf(st.Target) != d.digests["v4"]) {
			t.Errorf("held: %s → %s (%s), want awaiting-approval of v4 %s", st.Action, st.Target, st.Reason, d.digests["v4"])
		}
	case "approved":
		if rs[0].Trigger != "approve" || to(0) != d.digests["v4"] {
			t.Errorf("approved rollout: trigger %s to %s, want approve to v4 %s", rs[0].Trigger, to(0), d.digests["v4"])
		}
	}
}

// checkDashboard logs in to the dashboard --keep left serving, at the address and with
// the token the demo printed, as its login form does, and reads the workloads' state.
func checkDashboard(t *testing.T, ctx context.Context, d *demoRun) {
	t.Helper()
	base := "http://" + d.apiAddr + "/"
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	resp, err := c.PostForm(base+"login", neturl.Values{"token": {d.apiToken}})
	if err != nil {
		t.Errorf("dashboard login: %v", err)
		return
	}
	resp.Body.Close()
	state, err := c.Get(base + "state")
	if err != nil {
		t.Errorf("dashboard state: %v", err)
		return
	}
	body, _ := io.ReadAll(state.Body)
	state.Body.Close()
	if state.StatusCode != http.StatusOK || !strings.Contains(string(body), d.opt.Name) {
		t.Errorf("dashboard state after logging in with the printed token: %d\n%.300s", state.StatusCode, body)
	}
}

// approveAsPrinted runs the approve command the demo printed, as one would in another
// terminal.
func approveAsPrinted(t *testing.T, ctx context.Context, out string) {
	t.Helper()
	_, after, ok := strings.Cut(out, "approve it with:\n")
	if !ok {
		t.Errorf("no approve command printed:\n%s", out)
		return
	}
	lines := strings.SplitN(after, "\n", 3)
	args := strings.Fields(strings.ReplaceAll(lines[0]+" "+lines[1], "\\", ""))
	if len(args) < 2 || args[1] != "approve" {
		t.Errorf("approve command %q", args)
		return
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: %v\n%s%s", strings.Join(args, " "), err, &stdout, &stderr)
	}
}

// demoLeft names what the engine still holds of the demo: anything with its label, or
// a service, container or image named like it.
func demoLeft(t *testing.T, dc *client.Client, name string) string {
	t.Helper()
	ctx := context.Background()
	var left []string
	o, err := findDemo(ctx, dc, name, true)
	if err != nil {
		t.Fatal(err)
	}
	if !o.empty() {
		left = append(left, "labelled: "+o.String())
	}
	ss, err := dc.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss.Items {
		if strings.Contains(s.Spec.Name, name) {
			left = append(left, "service "+s.Spec.Name)
		}
	}
	cs, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		if strings.Contains(strings.Join(c.Names, ","), name) || strings.Contains(c.Image, name) {
			left = append(left, "container "+strings.Join(c.Names, ","))
		}
	}
	is, err := dc.ImageList(ctx, client.ImageListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range is.Items {
		refs := strings.Join(append(i.RepoTags, i.RepoDigests...), ",")
		if strings.Contains(refs, "/"+name) {
			left = append(left, "image "+refs)
		}
	}
	return strings.Join(left, "; ")
}

var (
	demoBinOnce sync.Once
	demoBinPath string
	demoBinErr  error
)

// demoBinary builds hoist as the demo's images need it, statically linked (the test
// binary itself is not), once per test process.
func demoBinary(t *testing.T) string {
	t.Helper()
	demoBinOnce.Do(func() {
		// One directory per checkout, the binary replaced by a rename: a concurrent
		// test process keeps running its own copy.
		wd, err := os.Getwd()
		if err != nil {
			demoBinErr = err
			return
		}
		sum := sha256.Sum256([]byte(wd))
		// The hoist binary's package, from this one's directory.
		main := filepath.Join(wd, "..", "..", "cmd", "hoist")
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("hoist-demo-bin-%x", sum[:6]))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			demoBinErr = err
			return
		}
		tmp := filepath.Join(dir, "hoist-"+randToken()[:8])
		cmd := exec.Command("go", "build", "-o", tmp, main)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			demoBinErr = fmt.Errorf("go build (CGO_ENABLED=0): %v\n%s", err, b)
			return
		}
		demoBinPath = filepath.Join(dir, "hoist")
		if err := os.Rename(tmp, demoBinPath); err != nil {
			os.Remove(tmp)
			demoBinErr = err
		}
	})
	if demoBinErr != nil {
		t.Fatal(demoBinErr)
	}
	return demoBinPath
}

func demoFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer is a bytes.Buffer safe for the demo's writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
