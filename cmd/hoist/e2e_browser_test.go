package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// uiBasePath is where the browser tests mount the dashboard (ui.base_path).
const uiBasePath = "/hoist/"

// firstViewBudget is the most the workloads page may transfer on a first visit.
const firstViewBudget = 150 * 1024

// uiEnv is one hoist serve with its dashboard, three services and the browser that
// drives them: live (rolled out by "check now"), appr (held for approval) and back
// (rolled back by hand, and the target of a cross-site attack).
type uiEnv struct {
	h    *hoistProc
	b    *browser
	base string // the dashboard's URL, ending in "/"
	run  string // the services' common prefix: the engine may hold other tests' services

	live, appr, back, none *swarmApp
	live2, appr2, back2    string // the images pushed after the services started

	main    context.Context // the tab that stays on the workloads page
	mainNet *netLog
}

func (e *uiEnv) key(a *swarmApp) string { return "service/" + a.svc }

// uiPolicies is hoist's config for the three services: polling off, so a push shows as
// update-due until something asks for a check.
func uiPolicies(live, back, appr string) string {
	const rollout = `    rollout: { parallelism: 1, delay: 1s, order: start-first, monitor: 2s }
    health: { watch: 2s, timeout: 3m }
`
	return fmt.Sprintf(`poll: { interval: 0 }
ui: { base_path: %s }
policies:
  - name: ui
    match: { services: [%q, %q] }
%s  - name: ui-approve
    match: { services: [%q] }
%s    when: { approve: true }
`, uiBasePath, live, back, rollout, appr, rollout)
}

// The dashboard in a real browser against a real hoist serve on the real engine: log
// in, watch a rollout live, approve, roll back and retry by clicking, refuse a
// cross-site POST, weigh the first view, filter, log out, and read anonymously. One
// browser for all of it, and one hoist serve (a second for anonymous reading).
func TestE2EBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := &uiEnv{b: startBrowser(t), run: "e2e-ui-" + randHex(3) + "-"}
	e.live = newSwarmApp(t, e.run+"live-", "", "stable", 1)
	e.appr = newSwarmApp(t, e.run+"appr-", "", "stable", 1)
	e.back = newSwarmApp(t, e.run+"back-", "", "stable", 1)
	e.none = newSwarmApp(t, e.run+"none-", "", "stable", 1) // no policy takes it
	e.h = startHoist(t, uiPolicies(e.live.svc, e.back.svc, e.appr.svc), nil)
	e.base = e.h.URL + uiBasePath
	e.live2 = e.live.push(t, testenv.App{Version: "2"})
	e.appr2 = e.appr.push(t, testenv.App{Version: "2"})
	e.back2 = e.back.push(t, testenv.App{Version: "2"})
	e.main, e.mainNet = e.b.tab(t)
	t.Logf("set up in %s", time.Since(start).Round(time.Millisecond))

	if !t.Run("login", e.testLogin) {
		return
	}
	if !t.Run("live-rollout", e.testLiveRollout) {
		return
	}
	t.Run("together", func(t *testing.T) {
		parallel := func(name string, f func(*testing.T)) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f(t)
			})
		}
		parallel("approve", e.testApprove)
		parallel("back", func(t *testing.T) {
			if t.Run("cross-site-post", e.testCrossSite) && t.Run("rollback", e.testRollback) {
				t.Run("retry", e.testRetry)
			}
		})
		parallel("first-view", e.testFirstView)
		parallel("phone", e.testPhone)
		parallel("anonymous-read", e.testAnonymousRead)
	})
	t.Run("filters", e.testFilters)
	t.Run("logout", e.testLogout)
	t.Logf("browser tests took %s in all", time.Since(start).Round(time.Millisecond))
}

// Without a session the page sends the browser to the login form; a wrong token is
// refused with 401 and no cookie; the right one lands on the workloads table.
func (e *uiEnv) testLogin(t *testing.T) {
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(e.base)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, uiBasePath+"login") {
		t.Fatalf("GET %s without a session: %s to %q, want 303 to %slogin", uiBasePath, resp.Status, loc, uiBasePath)
	}

	ctx := e.main
	within(t, ctx, 20*time.Second, "open the dashboard", chromedp.Navigate(e.base), chromedp.WaitVisible(chromedp.CSS("form#login")))
	if u := jsEval[string](t, ctx, "location.pathname"); u != uiBasePath+"login" {
		t.Fatalf("the dashboard without a session shows %s, want %slogin", u, uiBasePath)
	}
	if typ := jsEval[string](t, ctx, `document.getElementById("token").type`); typ != "password" {
		t.Errorf("input#token has type %q, want password", typ)
	}
	screenshot(t, ctx, "login")

	if st := submitLogin(t, ctx, "wrong-"+randHex(12)); st != http.StatusUnauthorized {
		t.Errorf("a wrong token: status %d, want 401", st)
	}
	within(t, ctx, 10*time.Second, "the login error", chromedp.WaitVisible(chromedp.ID("login-error")))
	if msg := elemText(t, ctx, "#login-error"); !strings.Contains(msg, "wrong token") {
		t.Errorf("#login-error says %q, want it to say wrong token", msg)
	}
	for _, r := range e.mainNet.requests() {
		if r.Method == http.MethodPost && r.SetCookie {
			t.Errorf("the refused login set a cookie: %+v", r)
		}
	}
	if cs := browserCookies(t, ctx, e.base); len(cs) != 0 {
		t.Errorf("cookies after a refused login: %+v", cs)
	}

	if st := submitLogin(t, ctx, e.h.Token); st != http.StatusOK {
		t.Fatalf("the right token: status %d, want the workloads page (200)%s", st, pageHint(ctx))
	}
	within(t, ctx, 20*time.Second, "the workloads table", chromedp.WaitVisible(chromedp.CSS("table#workloads")),
		chromedp.WaitVisible(chromedp.CSS("button#logout")))
	cs := browserCookies(t, ctx, e.base)
	if len(cs) == 0 {
		t.Fatalf("no session cookie after logging in")
	}
	for _, c := range cs {
		t.Logf("cookie %s: HttpOnly %v, SameSite %s, path %s", c.Name, c.HTTPOnly, c.SameSite, c.Path)
		if !c.HTTPOnly {
			t.Errorf("cookie %s is readable by scripts (HttpOnly is off)", c.Name)
		}
	}
}

// A pushed image shows as update-due; "check now" rolls it out, and the row goes
// through rolling-out to up-to-date on the page as loaded (no reload). The row links
// to the rollout's page.
func (e *uiEnv) testLiveRollout(t *testing.T) {
	ctx, w := e.main, e.key(e.live)
	e.filterRows(t, ctx)
	waitState(t, ctx, w, "update-due", 20*time.Second)
	waitJS(t, ctx, `document.body.dataset.live === "connected"`, 10*time.Second)
	jsEval[chromedp.Void](t, ctx, `window.__hoistMarker = 1`)
	recordStates(t, ctx, w)
	if cur, tgt := cellDigest(t, ctx, w, "current"), cellDigest(t, ctx, w, "target"); cur != digestOf(e.live.img1) || tgt != digestOf(e.live2) {
		t.Errorf("update due: current %q, target %q; want %s → %s", cur, tgt, digestOf(e.live.img1), digestOf(e.live2))
	}

	clickCSS(t, ctx, "button#check-now")
	waitState(t, ctx, w, "rolling-out", 60*time.Second)
	// While Swarm replaces the task (monitor 2s), the feed tells how many run the target.
	stateText := fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, rowSel(w, "")+" td.state")
	var texts []string
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s := jsEval[string](t, ctx, stateText)
		if len(texts) == 0 || texts[len(texts)-1] != s {
			texts = append(texts, s)
		}
		if regexp.MustCompile(`rolling out \d+/1 · converging`).MatchString(s) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the row never showed how many tasks run the target; it showed %q", texts)
		}
	}
	// Meanwhile the row shows where the rollout moves from and to (one read of the row).
	row := jsEval[[]string](t, ctx, fmt.Sprintf(`(function(){ const r = document.querySelector(%q);
	  const d = c => (r.querySelector("td." + c) || {dataset: {}}).dataset.digest || "";
	  return [r.dataset.state, d("current"), d("target")] })()`, rowSel(w, "")))
	t.Logf("while rolling out the row showed %q", row)
	if row[0] == "rolling-out" && (row[1] != digestOf(e.live.img1) || row[2] != digestOf(e.live2)) {
		t.Errorf("rolling out: current %q, target %q; want %s → %s", row[1], row[2], digestOf(e.live.img1), digestOf(e.live2))
	}
	screenshot(t, ctx, "rolling-out")
	waitState(t, ctx, w, "up-to-date", 2*time.Minute)

	if cur := cellDigest(t, ctx, w, "current"); cur != digestOf(e.live2) {
		t.Errorf("up to date: current %q, want %s", cur, digestOf(e.live2))
	}
	if m := jsEval[int](t, ctx, `window.__hoistMarker || 0`); m != 1 {
		t.Errorf("the page was reloaded during the rollout (marker %d)", m)
	}
	seen := seenStates(t, ctx, w)
	if !inOrder(seen, "update-due", "rolling-out", "up-to-date") {
		t.Errorf("the row showed %v; want update-due, rolling-out, up-to-date in that order", seen)
	}
	if got := serviceImage(t, e.live.dc, e.live.svc); got != e.live2 {
		t.Errorf("service image %s, want %s", got, e.live2)
	}
	r := e.h.waitRollout(t, w, time.Minute)
	if r.Outcome != updater.Succeeded || r.To != e.live2 {
		t.Errorf("rollout %s to %s (%s), want succeeded to %s", r.Outcome, r.To, r.Reason, e.live2)
	}
	t.Logf("the row showed %v", seen)
	e.rolloutPage(t, r)
}

// A held digest is approved by clicking: the dialog names the exact digest, and the
// service rolls out to it.
func (e *uiEnv) testApprove(t *testing.T) {
	ctx, _ := e.b.tab(t)
	w, d := e.key(e.appr), digestOf(e.appr2)
	within(t, ctx, 20*time.Second, "open the dashboard", chromedp.Navigate(e.base), chromedp.WaitVisible(chromedp.CSS("table#workloads")))
	e.filterRows(t, ctx)
	waitState(t, ctx, w, "awaiting-approval", time.Minute)
	btn := rowSel(w, "awaiting-approval") + ` button[data-action="approve"]`
	if got := jsEval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).dataset.digest`, btn)); got != d {
		t.Fatalf("the approve button names %q, want %s", got, d)
	}
	if got := cellDigest(t, ctx, w, "target"); got != d {
		t.Errorf("the row's target is %q, want %s", got, d)
	}
	recordStates(t, ctx, w)
	e.approveByKeyboardCancelled(t, ctx, btn)
	clickOpen(t, ctx, btn)
	if msg := elemText(t, ctx, "#confirm-text"); !strings.Contains(msg, d) {
		t.Fatalf("the confirmation says %q; want the full digest %s", msg, d)
	}
	screenshot(t, ctx, "approve-dialog")
	clickCSS(t, ctx, "button#confirm-yes")
	waitState(t, ctx, w, "up-to-date", 2*time.Minute)

	if got := serviceImage(t, e.appr.dc, e.appr.svc); got != e.appr2 || !strings.HasSuffix(got, "@"+d) {
		t.Errorf("service image %s, want %s", got, e.appr2)
	}
	r := e.h.waitRollout(t, w, time.Minute)
	if r.Outcome != updater.Succeeded || r.To != e.appr2 || r.Trigger != "approve" {
		t.Errorf("rollout %s to %s by %q (%s); want succeeded to %s by approve", r.Outcome, r.To, r.Trigger, r.Reason, e.appr2)
	}
	t.Logf("the row showed %v", seenStates(t, ctx, w))
}

// approveByKeyboardCancelled reaches the approve button with Tab from the top of the
// page, opens its dialog with Enter (focus on Cancel, so Enter does not approve by
// accident), and closes it with Escape: focus is back on the button and nothing was
// approved.
func (e *uiEnv) approveByKeyboardCancelled(t *testing.T, ctx context.Context, btn string) {
	t.Helper()
	jsEval[chromedp.Void](t, ctx, `document.activeElement && document.activeElement.blur()`)
	tabs := 0
	for ; !jsEval[bool](t, ctx, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, btn)); tabs++ {
		if tabs == 40 {
			t.Fatalf("40 Tab presses did not reach the approve button; focus on %s", jsEval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		within(t, ctx, 5*time.Second, "press Tab", chromedp.KeyEvent(kb.Tab))
	}
	within(t, ctx, 5*time.Second, "press Enter", chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, `document.getElementById("confirm").open && document.activeElement.id === "confirm-no"`, 5*time.Second)
	within(t, ctx, 5*time.Second, "press Escape", chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, fmt.Sprintf(`!document.getElementById("confirm").open && document.activeElement === document.querySelector(%q)`, btn), 5*time.Second)
	if st := jsEval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).dataset.state`, rowSel(e.key(e.appr), ""))); st != "awaiting-approval" {
		t.Fatalf("after Escape the row is %s, want awaiting-approval", st)
	}
	t.Logf("the approve button was reached with %d Tab presses; Enter opened the dialog on Cancel, Escape closed it", tabs)
}

// The service that "check now" moved to v2 is rolled back by clicking, and returns to
// v1; the row links to the rollback's record.
func (e *uiEnv) testRollback(t *testing.T) {
	ctx, w := e.main, e.key(e.back)
	before := len(e.h.rollouts(t, w))
	btn := rowSel(w, "") + ` button[data-action="rollback"]`
	clickOpen(t, ctx, btn)
	t.Logf("the confirmation says %q", elemText(t, ctx, "#confirm-text"))
	clickCSS(t, ctx, "button#confirm-yes")

	deadline := time.Now().Add(90 * time.Second)
	for serviceImage(t, e.back.dc, e.back.svc) != e.back.img1 {
		if time.Now().After(deadline) {
			t.Fatalf("service image %s 90s after the rollback, want %s", serviceImage(t, e.back.dc, e.back.svc), e.back.img1)
		}
		time.Sleep(250 * time.Millisecond)
	}
	r := e.h.waitRollout(t, w, time.Minute)
	if rs := e.h.rollouts(t, w); len(rs) != before+1 || r.Outcome != updater.Succeeded || r.Trigger != "manual rollback" || r.From != e.back2 {
		t.Errorf("after the rollback: %d rollouts (was %d), newest %s from %s by %q", len(rs), before, r.Outcome, r.From, r.Trigger)
	}
	waitJS(t, ctx, fmt.Sprintf(`(function(){ const a = document.querySelector(%q); return a && a.href === %q })()`,
		rowSel(w, "")+" td.last a.rollout", fmt.Sprintf("%srollouts/%d", e.base, r.ID)), 30*time.Second)
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector(%q).dataset.state !== "rolling-out"`, rowSel(w, "")), 15*time.Second)
	t.Logf("after the rollback the row shows %q; #flash says %q",
		jsEval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).dataset.state`, rowSel(w, ""))), elemText(t, ctx, "#flash"))
}

// The digest the rollback quarantined is let go by clicking retry: it rolls out again.
func (e *uiEnv) testRetry(t *testing.T) {
	ctx, w := e.main, e.key(e.back)
	waitState(t, ctx, w, "quarantined", 15*time.Second)
	clickCSS(t, ctx, rowSel(w, "quarantined")+` button[data-action="retry"]`)
	waitState(t, ctx, w, "up-to-date", 2*time.Minute)
	if got := serviceImage(t, e.back.dc, e.back.svc); got != e.back2 {
		t.Errorf("service image %s after retry, want %s again", got, e.back2)
	}
	r := e.h.waitRollout(t, w, time.Minute)
	if r.Outcome != updater.Succeeded || r.To != e.back2 {
		t.Errorf("after retry: %s to %s by %q (%s); want succeeded to %s", r.Outcome, r.To, r.Trigger, r.Reason, e.back2)
	}
}

// rolloutPage opens a rollout's page from the workloads table's link and checks what
// it shows against the record.
func (e *uiEnv) rolloutPage(t *testing.T, r updater.Rollout) {
	ctx, _ := e.b.tab(t)
	href := jsEval[string](t, e.main, fmt.Sprintf(`document.querySelector(%q).href`, rowSel(r.Workload, "")+" td.last a.rollout"))
	if want := fmt.Sprintf("%srollouts/%d", e.base, r.ID); href != want {
		t.Errorf("the last rollout links to %s, want %s", href, want)
	}
	within(t, ctx, 20*time.Second, "open the rollout page", chromedp.Navigate(href), chromedp.WaitVisible(chromedp.ID("rollout-outcome")))
	waitJS(t, ctx, `document.getElementById("rollout-to").textContent.trim() !== ""`, 10*time.Second)
	for sel, want := range map[string]string{
		"#rollout-from": digestOf(r.From), "#rollout-to": digestOf(r.To), "#rollout-trigger": r.Trigger,
	} {
		if got := elemText(t, ctx, sel); !strings.Contains(got, want) {
			t.Errorf("%s says %q, want %q in it", sel, got, want)
		}
	}
	phases := jsEval[[]string](t, ctx, `Array.from(document.querySelectorAll("ol#timeline li[data-phase]"), li => li.dataset.phase)`)
	if len(phases) == 0 {
		t.Errorf("the timeline has no phases")
	}
	t.Logf("rollout %d: outcome %q, phases %v", r.ID, elemText(t, ctx, "#rollout-outcome"), phases)
	screenshot(t, ctx, "rollout")
}

// A page on another site (localhost is not 127.0.0.1's site) that posts to the
// rollback action while the browser holds a session gets 403, and nothing changes.
func (e *uiEnv) testCrossSite(t *testing.T) {
	w := e.key(e.back)
	r := e.h.waitRollout(t, w, 2*time.Minute)
	if r.Outcome != updater.Succeeded || serviceImage(t, e.back.dc, e.back.svc) != e.back2 {
		t.Fatalf("the check did not move %s to v2: %s (%s)", w, r.Outcome, r.Reason)
	}
	before := e.h.rollouts(t, w)
	action := e.base + "actions/rollback"
	evil := attackerSite(t, action, w)

	ctx, nl := e.b.tab(t)
	within(t, ctx, 20*time.Second, "open the attacker's page", chromedp.Navigate(evil))
	answers := nl.waitRequests(t, http.MethodPost, uiBasePath+"actions/rollback", 2, 20*time.Second)
	for _, a := range answers {
		t.Logf("cross-site POST from %s: status %d, failed %q, cookies sent %v", evil, a.Status, a.Failed, a.SentCookies)
		if a.Status != http.StatusForbidden {
			t.Errorf("a cross-site POST to %s was answered %d (%s), want 403", action, a.Status, a.Failed)
		}
	}
	e.postWithSession(t, action, w, evil)

	time.Sleep(2 * time.Second)
	if got := serviceImage(t, e.back.dc, e.back.svc); got != e.back2 {
		t.Errorf("service image %s after the attack, want %s unchanged", got, e.back2)
	}
	if after := e.h.rollouts(t, w); len(after) != len(before) || after[0].ID != before[0].ID {
		t.Errorf("rollouts after the attack: %d (newest %d), before: %d (newest %d)", len(after), after[0].ID, len(before), before[0].ID)
	}
}

// postWithSession posts the rollback with the browser's session cookie but without the
// page's CSRF token, once claiming the attacker's origin and once none: both are 403.
func (e *uiEnv) postWithSession(t *testing.T, action, workload, evil string) {
	t.Helper()
	var jar []string
	for _, c := range browserCookies(t, e.main, e.base) {
		jar = append(jar, c.Name+"="+c.Value)
	}
	body := fmt.Sprintf(`{"workload":%q}`, workload)
	for _, origin := range []string{strings.TrimSuffix(evil, "/"), ""} {
		hdr := map[string]string{"Cookie": strings.Join(jar, "; "), "Content-Type": "application/json"}
		if origin != "" {
			hdr["Origin"] = origin
		}
		if code := post(t, action, hdr, body); code != http.StatusForbidden {
			t.Errorf("POST %s with the session cookie, no CSRF token, Origin %q: %d, want 403", action, origin, code)
		}
	}
}

// The first view of the workloads page (cold cache, logged in) stays under the
// budget; the events stream, which never finishes, is counted apart.
func (e *uiEnv) testFirstView(t *testing.T) {
	ctx, nl := e.b.tab(t)
	if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	nl.reset()
	within(t, ctx, 20*time.Second, "open the dashboard", chromedp.Navigate(e.base), chromedp.WaitVisible(chromedp.CSS("table#workloads")))
	waitJS(t, ctx, `document.body.dataset.live === "connected"`, 10*time.Second)
	waitJS(t, ctx, `document.querySelectorAll("tr[data-workload]").length >= 3`, 10*time.Second)
	time.Sleep(500 * time.Millisecond)

	var total, stream float64
	var parts []string
	for _, r := range nl.requests() {
		if !r.Finished {
			stream += r.Bytes
			parts = append(parts, fmt.Sprintf("%s (open, %.0f so far)", strings.TrimPrefix(r.URL, e.h.URL), r.Bytes))
			continue
		}
		total += r.Bytes
		parts = append(parts, fmt.Sprintf("%s %.0f", strings.TrimPrefix(r.URL, e.h.URL), r.Bytes))
	}
	t.Logf("first view: %.0f bytes transferred (%d requests: %s; the events stream's %.0f bytes so far not counted)",
		total, len(parts), strings.Join(parts, ", "), stream)
	fmt.Printf("first view: %.0f bytes transferred\n", total)
	if total >= firstViewBudget {
		t.Errorf("the first view transferred %.0f bytes, over the budget of %d", total, firstViewBudget)
	}
}

// At a phone's width (390 px) the page shows the table.
func (e *uiEnv) testPhone(t *testing.T) {
	ctx, _ := e.b.tab(t)
	within(t, ctx, 20*time.Second, "open the dashboard at 390px",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(e.base), chromedp.WaitVisible(chromedp.CSS("table#workloads")))
	e.filterRows(t, ctx)
	if w := jsEval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Logf("at 390px the page is %dpx wide (scrolls sideways)", w)
	}
	screenshot(t, ctx, "phone")
}

// The state and policy filters narrow the table to the rows that match.
func (e *uiEnv) testFilters(t *testing.T) {
	ctx := e.main
	shown := func() []string {
		return jsEval[[]string](t, ctx, `Array.from(document.querySelectorAll("tr[data-workload]")).filter(r => !r.hidden).map(r => r.dataset.workload)`)
	}
	pick := func(sel, value string) {
		jsEval[chromedp.Void](t, ctx, fmt.Sprintf(`(function(){ const s = document.querySelector(%q); s.value = %q;
		  s.dispatchEvent(new Event("change", {bubbles: true})) })()`, sel, value))
	}
	pick("select#filter-policy", "ui-approve")
	if got := shown(); len(got) != 1 || got[0] != e.key(e.appr) {
		t.Errorf("policy ui-approve shows %v, want only %s", got, e.key(e.appr))
	}
	pick("select#filter-policy", "")
	pick("select#filter-state", "awaiting-approval")
	if got := shown(); len(got) != 0 {
		t.Errorf("state awaiting-approval shows %v after the approval, want none", got)
	}
	pick("select#filter-state", "governed")
	if got := shown(); len(got) != 3 || slices.Contains(got, e.key(e.none)) {
		t.Errorf("the governed workloads are %v, want the run's 3 rows with a policy", got)
	}
	pick("select#filter-state", "")
	if got := shown(); len(got) != 4 || !slices.Contains(got, e.key(e.none)) {
		t.Errorf("any state shows %v, want the run's 4 rows, %s included", got, e.key(e.none))
	}
	pick("select#filter-state", "no-policy")
	if got := shown(); len(got) != 1 || got[0] != e.key(e.none) {
		t.Errorf("state no-policy shows %v, want only %s", got, e.key(e.none))
	}
	pick("select#filter-state", "governed")
}

// Logging out ends the session: the page goes to the login form and the old cookie no
// longer opens the dashboard.
func (e *uiEnv) testLogout(t *testing.T) {
	ctx := e.main
	var jar []string
	for _, c := range browserCookies(t, ctx, e.base) {
		jar = append(jar, c.Name+"="+c.Value)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(rctx, chromedp.Click(chromedp.CSS("button#logout"), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("log out: %v%s", err, pageHint(ctx))
	}
	if u := jsEval[string](t, ctx, "location.pathname"); resp.Status != http.StatusOK || u != uiBasePath+"login" {
		t.Errorf("after logging out: %d at %s, want the login form at %slogin", resp.Status, u, uiBasePath)
	}
	if cs := browserCookies(t, ctx, e.base); len(cs) != 0 {
		t.Errorf("cookies after logging out: %+v", cs)
	}
	req, _ := http.NewRequest(http.MethodGet, e.base, nil)
	req.Header.Set("Cookie", strings.Join(jar, "; "))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	after, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	after.Body.Close()
	if after.StatusCode != http.StatusSeeOther {
		t.Errorf("the dashboard with the cookie of a closed session: %s, want 303 to the login", after.Status)
	}
}

// With ui.anonymous_read a browser that never logged in sees the table at the default
// base path, without action buttons, and an action without a login is refused.
func (e *uiEnv) testAnonymousRead(t *testing.T) {
	h := startHoist(t, "poll: { interval: 0 }\nui: { anonymous_read: true }\npolicies:\n  - name: none\n    match: { services: [\"e2e-ui-nothing\"] }\n", nil)
	ctx, _ := e.b.tab(t, chromedp.WithNewBrowserContext())
	within(t, ctx, 20*time.Second, "open the dashboard without a login", chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("table#workloads")))
	// This hoist governs none of the run's services: they show under "no policy".
	jsEval[chromedp.Void](t, ctx, `(function(){ const s = document.querySelector("select#filter-state"); s.value = "no-policy";
	  s.dispatchEvent(new Event("change", {bubbles: true})) })()`)
	e.filterRowsTo(t, ctx, 4)
	if n := jsEval[int](t, ctx, `document.querySelectorAll("button[data-action], button#check-now, button#logout").length`); n != 0 {
		t.Errorf("an anonymous view shows %d action buttons, want none", n)
	}
	body := fmt.Sprintf(`{"workload":%q}`, e.key(e.back))
	if code := post(t, h.URL+"/actions/rollback", map[string]string{"Content-Type": "application/json"}, body); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("an action without a login: %d, want 401 or 403", code)
	}
}
