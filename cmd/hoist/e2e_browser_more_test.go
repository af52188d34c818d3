package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// moreEnv is one hoist serve under the default base path, restarted once, with the
// browser that drives it and four workloads: live (a service rolled out after the
// restart), ct (a standalone container), later (held by a closed window) and broken
// (its registry is gone).
type moreEnv struct {
	h    *hoistProc
	b    *browser
	base string // the dashboard's URL, ending in "/"
	run  string // the workloads' common prefix

	live, later, broken *swarmApp
	ct                  *containerApp
	later2              string    // the image pushed to later, held by its window
	opens               time.Time // when later's window opens
	brokenHost          string

	main context.Context // the tab that stays on the workloads page
	top  *testing.T      // the test that owns hoist, whichever subtest restarts it
}

// containerApp is a standalone container running v1 of the test program from its own
// registry, following the tag "stable".
type containerApp struct {
	dc   *client.Client
	name string
	repo string
}

func (c *containerApp) key() string { return "container/" + c.name }

// morePolicies is hoist's config: polling off, the default base path, and later's
// window opening at opens and lasting an hour.
func morePolicies(e *moreEnv) string {
	return fmt.Sprintf(`poll: { interval: 0 }
policies:
  - name: more
    match: { services: [%q, %q], containers: [%q] }
    rollout: { parallelism: 1, delay: 1s, order: start-first, monitor: 1s }
    health: { watch: 2s, timeout: 3m }
  - name: more-later
    match: { services: [%q] }
    when: { windows: [ { from: %q, to: %q } ] }
`, e.live.svc, e.broken.svc, e.ct.name, e.later.svc, e.opens.Format("15:04"), e.opens.Add(time.Hour).Format("15:04"))
}

// What the first browser test leaves out: the login under the default base path, a
// deferred row and an error row with their reasons, the page across a restart of hoist
// (reconnecting, then live again and still logged in without a reload), and a
// standalone container rolled out from the page along with a service.
func TestE2EBrowserMore(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := &moreEnv{b: startBrowser(t), run: "e2e-uim-" + randHex(3) + "-", top: t}
	e.setUp(t)
	e.main, _ = e.b.tab(t)
	t.Logf("set up in %s", time.Since(start).Round(time.Millisecond))

	if !t.Run("login-root", e.testLoginRoot) {
		return
	}
	t.Run("deferred", e.testDeferred)
	t.Run("error", e.testError)
	if !t.Run("reconnect", e.testReconnect) {
		return
	}
	t.Run("check-now-after-restart", e.testCheckAfterRestart)
	t.Logf("took %s in all", time.Since(start).Round(time.Millisecond))
}

// setUp starts the four workloads (the services converge together), pushes later's v2,
// closes broken's registry once its service runs, and starts hoist.
func (e *moreEnv) setUp(t *testing.T) {
	dc := testenv.Shared(t).Docker
	e.live = e.swarmApp(t, dc, "live", testenv.Shared(t).Registry.Host)
	e.later = e.swarmApp(t, dc, "later", testenv.Shared(t).Registry.Host)
	gone := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(gone.Close)
	e.brokenHost = strings.TrimPrefix(gone.URL, "http://")
	e.broken = e.swarmApp(t, dc, "broken", e.brokenHost)
	e.ct = newContainerApp(t, dc, e.run+"ct")
	for _, a := range []*swarmApp{e.live, e.later, e.broken} {
		waitRunning(t, dc, a.svc, a.img1, 1, 90*time.Second)
	}
	gone.Close()
	e.later2 = e.later.push(t, testenv.App{Version: "2"})
	e.opens = time.Now().UTC().Add(2 * time.Hour).Truncate(time.Minute)
	e.h = startHoist(t, morePolicies(e), nil)
	e.base = e.h.URL + "/"
}

// swarmApp pushes v1 to host and creates its service without waiting for it to run.
func (e *moreEnv) swarmApp(t *testing.T, dc *client.Client, name, host string) *swarmApp {
	t.Helper()
	a := &swarmApp{dc: dc, svc: e.run + name, tag: "stable"}
	a.repo = host + "/" + a.svc
	a.img1 = a.push(t, testenv.App{Version: "1"})
	replicas := uint64(1)
	res, err := dc.ServiceCreate(context.Background(), client.ServiceCreateOptions{Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: a.svc, Labels: map[string]string{"hoist.test": "browser"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: a.img1},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}})
	if err != nil {
		t.Fatalf("create service %s: %v", a.svc, err)
	}
	t.Cleanup(func() { dc.ServiceRemove(context.Background(), res.ID, client.ServiceRemoveOptions{}) })
	return a
}

// newContainerApp pushes v1 to a registry of its own and runs it as a container named
// name; the container and the one a swap keeps are removed when the test ends.
func newContainerApp(t *testing.T, dc *client.Client, name string) *containerApp {
	t.Helper()
	ctx := context.Background()
	c := &containerApp{dc: dc, name: name, repo: testenv.Shared(t).Registry.Host + "/" + name}
	testenv.PushApp(t, c.repo+":stable", testenv.App{Version: "1"})
	pull, err := dc.ImagePull(ctx, c.repo+":stable", client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, pull)
	pull.Close()
	t.Cleanup(func() {
		cl, _ := dc.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", name)})
		for _, it := range cl.Items {
			dc.ContainerRemove(context.Background(), it.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	})
	cr, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: c.repo + ":stable", Labels: map[string]string{"hoist.test": "browser"}},
		HostConfig: &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "unless-stopped"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// image is the image the container named name runs now, as its config says.
func (c *containerApp) image(t *testing.T) string {
	t.Helper()
	r, err := c.dc.ContainerInspect(context.Background(), c.name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", c.name, err)
	}
	return r.Container.Config.Image
}

// Under the default base path the dashboard sends a browser without a session to
// /login, and the token lands it on the workloads table at /.
func (e *moreEnv) testLoginRoot(t *testing.T) {
	ctx := e.main
	within(t, ctx, 20*time.Second, "open the dashboard", chromedp.Navigate(e.base), chromedp.WaitVisible(chromedp.CSS("form#login")))
	if u := jsEval[string](t, ctx, "location.pathname"); u != "/login" {
		t.Fatalf("the dashboard without a session shows %s, want /login", u)
	}
	if st := submitLogin(t, ctx, e.h.Token); st != http.StatusOK {
		t.Fatalf("the right token: status %d, want the workloads page (200)%s", st, pageHint(ctx))
	}
	within(t, ctx, 20*time.Second, "the workloads table", chromedp.WaitVisible(chromedp.CSS("table#workloads")),
		chromedp.WaitVisible(chromedp.CSS("button#logout")))
	if u := jsEval[string](t, ctx, "location.pathname"); u != "/" {
		t.Errorf("after logging in the browser is at %s, want /", u)
	}
	cs := browserCookies(t, ctx, e.base)
	if len(cs) == 0 {
		t.Fatalf("no session cookie after logging in")
	}
	for _, c := range cs {
		if c.Path != "/" || !c.HTTPOnly {
			t.Errorf("cookie %s: path %q, HttpOnly %v; want path / and HttpOnly", c.Name, c.Path, c.HTTPOnly)
		}
	}
	waitJS(t, ctx, `document.body.dataset.live === "connected"`, 10*time.Second)
}

// A new digest outside the policy's window shows as deferred, and the state cell says
// until when (in the browser's time) and why.
func (e *moreEnv) testDeferred(t *testing.T) {
	ctx, w := e.main, "service/"+e.later.svc
	waitState(t, ctx, w, "deferred", 20*time.Second)
	want := jsEval[string](t, ctx, fmt.Sprintf(`"deferred until " + new Date(%q).toLocaleString()`, e.opens.Format(time.RFC3339)))
	got := elemText(t, ctx, rowSel(w, "")+" td.state")
	if !strings.Contains(got, want) || !strings.Contains(got, "more-later") {
		t.Errorf("the deferred row's state says %q; want %q and the policy more-later", got, want)
	}
	if tgt := cellDigest(t, ctx, w, "target"); tgt != digestOf(e.later2) {
		t.Errorf("the deferred row's target is %q, want the held %s", tgt, digestOf(e.later2))
	}
	t.Logf("deferred: %q", got)
}

// A workload whose registry is gone shows as an error naming the registry.
func (e *moreEnv) testError(t *testing.T) {
	ctx, w := e.main, "service/"+e.broken.svc
	waitState(t, ctx, w, "error", 20*time.Second)
	got := elemText(t, ctx, rowSel(w, "")+" td.state")
	if !strings.HasPrefix(got, "error") || !strings.Contains(got, e.brokenHost) {
		t.Errorf("the error row's state says %q; want error and the registry %s", got, e.brokenHost)
	}
	t.Logf("error: %q", got)
}

// While hoist is down the page says it is reconnecting; once hoist is back on the same
// address and data_dir the page is live again, as loaded and still logged in.
func (e *moreEnv) testReconnect(t *testing.T) {
	ctx := e.main
	waitJS(t, ctx, `document.body.dataset.live === "connected"`, 10*time.Second)
	jsEval[chromedp.Void](t, ctx, `window.__hoistMarker = 7`)
	stopped := time.Now()
	e.h.stop()
	t.Logf("hoist stopped in %s", time.Since(stopped).Round(time.Millisecond))
	waitJS(t, ctx, `document.body.dataset.live === "reconnecting"`, 10*time.Second)
	if txt := elemText(t, ctx, "#live-text"); txt != "reconnecting" {
		t.Errorf("#live-text says %q while hoist is down, want reconnecting", txt)
	}

	e.h = serveAgain(t, e.top, e.h)
	back := time.Now()
	waitJS(t, ctx, `document.body.dataset.live === "connected"`, 20*time.Second)
	t.Logf("live again %s after hoist was back", time.Since(back).Round(time.Millisecond))
	if m := jsEval[int](t, ctx, `window.__hoistMarker || 0`); m != 7 {
		t.Errorf("the page was reloaded across the restart (marker %d)", m)
	}
	if u := jsEval[string](t, ctx, "location.pathname"); u != "/" {
		t.Fatalf("after the restart the browser is at %s, want /", u)
	}
	if st := jsEval[int](t, ctx, `fetch("session", {credentials: "same-origin"}).then(r => r.json()).then(v => v.can_act ? 200 : 403)`); st != http.StatusOK {
		t.Fatalf("after the restart the session may not act (%d): the login was lost", st)
	}
	if txt := elemText(t, ctx, "#live-text"); txt != "live" {
		t.Errorf("#live-text says %q after the restart, want live", txt)
	}
	fresh, _ := e.b.tab(t)
	within(t, fresh, 20*time.Second, "open the dashboard in a new tab after the restart", chromedp.Navigate(e.base),
		chromedp.WaitVisible(chromedp.CSS("table#workloads")), chromedp.WaitVisible(chromedp.CSS("button#logout")))
}

// After the restart, pushes to the service and the container and one click on "check
// now" roll both out: the rows go through rolling-out to up-to-date on the page as
// loaded before the restart, and the container's rollout has its page.
func (e *moreEnv) testCheckAfterRestart(t *testing.T) {
	ctx, w, cw := e.main, "service/"+e.live.svc, e.ct.key()
	live2 := e.live.push(t, testenv.App{Version: "2"})
	ct2 := testenv.PushApp(t, e.ct.repo+":stable", testenv.App{Version: "2"}).String()
	recordStates(t, ctx, w)
	recordStates(t, ctx, cw)
	clickCSS(t, ctx, "button#check-now")
	waitJS(t, ctx, `/^checked .* started/.test(document.getElementById("flash").textContent)`, 30*time.Second)
	waitState(t, ctx, w, "rolling-out", 60*time.Second)
	// The state read that follows the rollouts' end fails, as on a network that changed
	// under the browser: the page says so and reads it again until it can.
	state := e.base + "state"
	blockURL(t, ctx, state, true)
	waitJS(t, ctx, `/^Could not read the state: .*; trying again in \d+ s$/.test(document.getElementById("flash").textContent)`, 2*time.Minute)
	t.Logf("while %s failed: %q", state, elemText(t, ctx, "#flash"))
	blockURL(t, ctx, state, false)
	waitState(t, ctx, w, "up-to-date", 2*time.Minute)
	waitState(t, ctx, cw, "up-to-date", 2*time.Minute)
	waitJS(t, ctx, `document.getElementById("flash").textContent === ""`, 10*time.Second)

	if m := jsEval[int](t, ctx, `window.__hoistMarker || 0`); m != 7 {
		t.Errorf("the page was reloaded (marker %d)", m)
	}
	for key, seen := range map[string][]string{w: seenStates(t, ctx, w), cw: seenStates(t, ctx, cw)} {
		t.Logf("%s showed %v", key, seen)
		if !inOrder(seen, "rolling-out", "up-to-date") {
			t.Errorf("%s showed %v; want rolling-out, then up-to-date", key, seen)
		}
	}
	if got := serviceImage(t, e.live.dc, e.live.svc); got != live2 {
		t.Errorf("service image %s, want %s", got, live2)
	}
	if cur := cellDigest(t, ctx, w, "current"); cur != digestOf(live2) {
		t.Errorf("the service's row: current %q, want %s", cur, digestOf(live2))
	}
	if got := e.ct.image(t); !strings.HasSuffix(got, "@"+ct2) {
		t.Errorf("container image %s, want the digest %s", got, ct2)
	}
	if cur := cellDigest(t, ctx, cw, "current"); cur != ct2 {
		t.Errorf("the container's row: current %q, want %s", cur, ct2)
	}
	r := e.h.waitRollout(t, cw, time.Minute)
	if r.Outcome != updater.Succeeded || !strings.HasSuffix(r.To, "@"+ct2) || r.Trigger != "ui" {
		t.Errorf("container rollout %s to %s by %q (%s), want succeeded to %s by ui", r.Outcome, r.To, r.Trigger, r.Reason, ct2)
	}
	e.containerRolloutPage(t, r)
}

// containerRolloutPage follows the container row's link to its rollout's page.
func (e *moreEnv) containerRolloutPage(t *testing.T, r updater.Rollout) {
	ctx, _ := e.b.tab(t)
	link := rowSel(r.Workload, "") + " td.last a.rollout"
	waitJS(t, e.main, fmt.Sprintf(`(function(){ const a = document.querySelector(%q); return a && a.href === %q })()`,
		link, fmt.Sprintf("%srollouts/%d", e.base, r.ID)), 10*time.Second)
	href := jsEval[string](t, e.main, fmt.Sprintf(`document.querySelector(%q).href`, link))
	within(t, ctx, 20*time.Second, "open the rollout page", chromedp.Navigate(href), chromedp.WaitVisible(chromedp.ID("rollout-outcome")))
	waitJS(t, ctx, `document.getElementById("rollout-to").textContent.trim() !== ""`, 10*time.Second)
	for sel, want := range map[string]string{
		"#rollout-workload": r.Workload, "#rollout-outcome": "succeeded", "#rollout-to": digestOf(r.To), "#rollout-trigger": "ui",
	} {
		if got := elemText(t, ctx, sel); !strings.Contains(got, want) {
			t.Errorf("%s says %q, want %q in it", sel, got, want)
		}
	}
}

// serveAgain runs hoist serve again on h's config file: the same listen address,
// data_dir and token, so the dashboard's logins (data_dir/ui-sessions.json) hold. It
// runs until top ends; t fails if it does not come up.
func serveAgain(t, top *testing.T, h *hoistProc) *hoistProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", h.Config}, os.Getenv, io.Discard, logs) }()
	again := &hoistProc{URL: h.URL, Config: h.Config, Token: h.Token, logs: logs}
	var once sync.Once
	again.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					top.Errorf("hoist serve (again): %v", err)
				}
			case <-time.After(3 * time.Minute):
				top.Errorf("hoist serve (again) did not stop within 3m")
			}
		})
	}
	top.Cleanup(func() {
		again.stop()
		if top.Failed() {
			top.Logf("hoist (again, %s) logs:\n%s", h.Config, logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("hoist serve (again) exited: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(h.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return again
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoist did not come up again within 20s\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
