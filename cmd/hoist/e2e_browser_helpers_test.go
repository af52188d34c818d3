package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hoist-dev/hoist/internal/testenv"
)

// screenshotDir is where HOIST_SCREENSHOTS=1 writes the dashboard's screenshots.
const screenshotDir = "../../docs/screenshots"

// browser is one headless Chromium shared by the subtests of a test; each tab is a
// chromedp context of its own.
type browser struct {
	ctx context.Context
}

// chromiumPath finds Debian's chromium (or another Chromium-based browser). Without
// one the test skips, or fails when CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "chromium is not installed (apt-get install chromium)")
	return ""
}

// startBrowser starts headless Chromium with a fresh profile for the life of the test.
// The flags keep it off the network: no background requests, component updates, sync
// or QUIC.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromiumPath(t)
	profile, err := os.MkdirTemp("", "hoist-chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		// Chromium's helpers may still write to the profile for a moment after it exits.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.userAgent`))
	t.Logf("browser up in %s: %s", time.Since(start).Round(time.Millisecond), v)
	return &browser{ctx: ctx}
}

// tab opens a new tab (sharing the browser's cookies, unless an option such as
// chromedp.WithNewBrowserContext says otherwise) that records its network traffic; it
// is closed when the test ends.
func (b *browser) tab(t *testing.T, opts ...chromedp.ContextOption) (context.Context, *netLog) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	nl := &netLog{reqs: map[network.RequestID]*netReq{}}
	if err := chromedp.Listen(ctx, nl.record); err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ctx, nl
}

// within runs actions on the tab, failing the test after timeout.
func within(t *testing.T, ctx context.Context, timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := chromedp.Do(ctx, steps...)
	// The engine adds and removes network interfaces as other tests start containers;
	// Chromium aborts a page load that sees one change (net::ERR_NETWORK_CHANGED). The
	// steps are tried again then, at most twice more.
	for i := 0; i < 2 && err != nil && strings.Contains(err.Error(), "ERR_NETWORK_CHANGED"); i++ {
		t.Logf("%s: %v; trying again", what, err)
		err = chromedp.Do(ctx, steps...)
	}
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, pageHint(ctx))
	}
}

// pageHint is the page's URL and the start of its text, for failure messages.
func pageHint(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText : "").slice(0, 1500)`))
	if err != nil {
		return ""
	}
	return "\npage: " + s
}

// jsEval evaluates a JavaScript expression in the tab and decodes its value.
func jsEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// rowSel is the selector of a workload's row in a given state ("" for any state).
func rowSel(workload, state string) string {
	s := fmt.Sprintf(`tr[data-workload=%q]`, workload)
	if state != "" {
		s += fmt.Sprintf(`[data-state=%q]`, state)
	}
	return s
}

// waitState waits until the workload's row is in the state.
func waitState(t *testing.T, ctx context.Context, workload, state string, timeout time.Duration) {
	t.Helper()
	expr := fmt.Sprintf(`document.querySelector(%q) !== null`, rowSel(workload, state))
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout))
	ctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, poll); err != nil {
		got, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](fmt.Sprintf(
			`(function(){ const r = document.querySelector(%q); return r ? r.dataset.state + ": " + r.innerText : "no row" })()`, rowSel(workload, ""))))
		t.Fatalf("%s did not show %s within %s (row: %s): %v", workload, state, timeout, got, err)
	}
}

// waitJS waits until a JavaScript expression is truthy.
func waitJS(t *testing.T, ctx context.Context, expr string, timeout time.Duration) {
	t.Helper()
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout))
	ctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, poll); err != nil {
		t.Fatalf("waiting for %s: %v%s", expr, err, pageHint(ctx))
	}
}

// recordStates makes the page note every state a workload's row shows, every 50 ms,
// into window.__hoistStates; it is gone if the page reloads.
func recordStates(t *testing.T, ctx context.Context, workload string) {
	t.Helper()
	jsEval[chromedp.Void](t, ctx, fmt.Sprintf(`(function(){
	  const seen = window.__hoistStates = window.__hoistStates || {};
	  const w = %q, list = seen[w] = seen[w] || [];
	  const note = () => { const r = document.querySelector(%q);
	    const s = r ? r.dataset.state : "(none)"; if (list[list.length-1] !== s) list.push(s); };
	  (window.__hoistNotes = window.__hoistNotes || {})[w] = note;
	  note(); setInterval(note, 50);
	})()`, workload, rowSel(workload, "")))
}

// seenStates returns what recordStates noted for the workload, in order.
func seenStates(t *testing.T, ctx context.Context, workload string) []string {
	t.Helper()
	return jsEval[[]string](t, ctx, fmt.Sprintf(`(function(){ const w = %q;
	  if (window.__hoistNotes && window.__hoistNotes[w]) window.__hoistNotes[w]();
	  return (window.__hoistStates && window.__hoistStates[w]) || [] })()`, workload))
}

// clickCSS clicks the first element matching a CSS selector once it is visible.
func clickCSS(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	within(t, ctx, 15*time.Second, "click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// clickOpen clicks a row's button and waits for the confirmation dialog. A row can be
// drawn again between finding the button and the click (another workload's change
// moves it), so a click that opened nothing is tried again.
func clickOpen(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	const open = `document.getElementById("confirm").open`
	for try := 1; ; try++ {
		clickCSS(t, ctx, sel)
		poll := chromedp.Poll[chromedp.Void](open, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(2*time.Second))
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := chromedp.Run(pctx, poll)
		cancel()
		if err == nil {
			return
		}
		if try == 3 {
			t.Fatalf("clicking %s three times opened no dialog: %v%s", sel, err, pageHint(ctx))
		}
	}
}

// elemText returns the text of the first element matching a CSS selector.
func elemText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v%s", sel, err, pageHint(ctx))
	}
	return strings.TrimSpace(s)
}

// screenshot writes the tab's visible part as docs/screenshots/<name>.png when
// HOIST_SCREENSHOTS=1; otherwise it does nothing.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("HOIST_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))
}

// browserCookies returns the browser's cookies for url.
func browserCookies(t *testing.T, ctx context.Context, url string) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("cookies: %v", err)
	}
	return res.Cookies
}

// blockURL makes the tab's requests to url fail (block) or pass again, as a network
// gone away and back would.
func blockURL(t *testing.T, ctx context.Context, url string, block bool) {
	t.Helper()
	ps := network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: url, Block: block}}}
	if _, err := chromedp.Call(ctx, network.SetBlockedURLs, ps); err != nil {
		t.Fatalf("block %s (%t): %v", url, block, err)
	}
}

// netReq is one request a tab made, as the browser saw it on the wire.
type netReq struct {
	URL, Method string
	Status      int64
	// Bytes is what came over the network: headers and body once the request finished,
	// headers and data so far while it runs (an event stream).
	Bytes       float64
	Finished    bool
	Failed      string
	SentCookies []string
	SetCookie   bool
}

// netLog records a tab's requests from the DevTools network events.
type netLog struct {
	mu    sync.Mutex
	reqs  map[network.RequestID]*netReq
	order []*netReq
}

func (n *netLog) get(id network.RequestID) *netReq {
	r := n.reqs[id]
	if r == nil {
		r = &netReq{}
		n.reqs[id] = r
		n.order = append(n.order, r)
	}
	return r
}

func (n *netLog) record(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if e.RedirectResponse != nil {
			// A redirect's next hop has the same request id: keep the hop as its own entry.
			hop := n.get(e.RequestID)
			hop.Status, hop.Bytes, hop.Finished = e.RedirectResponse.Status, e.RedirectResponse.EncodedDataLength, true
			delete(n.reqs, e.RequestID)
		}
		r := n.get(e.RequestID)
		r.URL, r.Method = e.Request.URL, e.Request.Method
	case *network.EventRequestWillBeSentExtraInfo:
		r := n.get(e.RequestID)
		for _, c := range e.AssociatedCookies {
			if len(c.BlockedReasons) == 0 && c.Cookie != nil {
				r.SentCookies = append(r.SentCookies, c.Cookie.Name)
			}
		}
	case *network.EventResponseReceived:
		r := n.get(e.RequestID)
		r.Status, r.Bytes = e.Response.Status, e.Response.EncodedDataLength
	case *network.EventResponseReceivedExtraInfo:
		r := n.get(e.RequestID)
		if r.Status == 0 {
			r.Status = e.StatusCode
		}
		for k := range e.Headers {
			if strings.EqualFold(k, "Set-Cookie") {
				r.SetCookie = true
			}
		}
	case *network.EventDataReceived:
		if r := n.reqs[e.RequestID]; r != nil && !r.Finished {
			r.Bytes += float64(e.EncodedDataLength)
		}
	case *network.EventLoadingFinished:
		r := n.get(e.RequestID)
		r.Bytes, r.Finished = e.EncodedDataLength, true
	case *network.EventLoadingFailed:
		r := n.get(e.RequestID)
		r.Failed = e.ErrorText
		if e.BlockedReason != "" {
			r.Failed += " (" + string(e.BlockedReason) + ")"
		}
	}
}

// requests returns a copy of what the tab requested so far, in order.
func (n *netLog) requests() []netReq {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]netReq, len(n.order))
	for i, r := range n.order {
		out[i] = *r
	}
	return out
}

// reset forgets what was recorded so far.
func (n *netLog) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reqs, n.order = map[network.RequestID]*netReq{}, nil
}

// waitRequests waits until count requests whose URL has the suffix got an answer or
// failed, and returns them.
func (n *netLog) waitRequests(t *testing.T, method, suffix string, count int, timeout time.Duration) []netReq {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []netReq
		for _, r := range n.requests() {
			if r.Method == method && strings.HasSuffix(r.URL, suffix) && (r.Status != 0 || r.Failed != "") {
				got = append(got, r)
			}
		}
		if len(got) >= count {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d answers to %s …%s within %s; requests: %+v", len(got), count, method, suffix, timeout, n.requests())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// submitLogin types the token into the login form, submits it and returns the status
// of the page the browser lands on.
func submitLogin(t *testing.T, ctx context.Context, token string) int64 {
	t.Helper()
	within(t, ctx, 10*time.Second, "type the token",
		chromedp.WaitVisible(chromedp.ID("token")), chromedp.Clear(chromedp.ID("token")), chromedp.SendKeys(chromedp.ID("token"), token))
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(rctx, chromedp.Click(chromedp.ID("login-submit")))
	if err != nil {
		t.Fatalf("submit the login form: %v%s", err, pageHint(ctx))
	}
	return resp.Status
}

// filterRows types the run's prefix into the name filter and waits until only the
// run's three rows show.
func (e *uiEnv) filterRows(t *testing.T, ctx context.Context) { e.filterRowsTo(t, ctx, 3) }

// filterRowsTo is filterRows where n of the run's rows pass the other filters.
func (e *uiEnv) filterRowsTo(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	within(t, ctx, 10*time.Second, "filter by name", chromedp.SendKeys(chromedp.ID("filter-name"), e.run))
	waitJS(t, ctx, fmt.Sprintf(`(function(){ const rs = Array.from(document.querySelectorAll("tr[data-workload]"));
	  const shown = rs.filter(r => !r.hidden && r.getClientRects().length > 0);
	  return shown.length === %d && shown.every(r => r.dataset.workload.startsWith("service/" + %q)) })()`, n, e.run), 10*time.Second)
	jsEval[chromedp.Void](t, ctx, `document.activeElement && document.activeElement.blur()`)
}

// cellDigest is the full digest a digest cell (td.current, td.target) of the
// workload's row carries, or "".
func cellDigest(t *testing.T, ctx context.Context, workload, cell string) string {
	t.Helper()
	return jsEval[string](t, ctx, fmt.Sprintf(`(function(){ const td = document.querySelector(%q);
	  return (td && (td.dataset.digest || td.title)) || "" })()`, rowSel(workload, "")+" td."+cell))
}

// inOrder reports whether want appear in seen in that order (others may come between).
func inOrder(seen []string, want ...string) bool {
	i := 0
	for _, s := range seen {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// attackerSite serves a page on http://localhost:PORT/ that, as soon as it loads,
// fetch()es the action (no-cors, with credentials) and then submits a form to it.
func attackerSite(t *testing.T, action, workload string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf(`<!doctype html><title>cute cats</title>
<form id="f" method="POST" action=%q><input name="workload" value=%q></form>
<script>
fetch(%q, {method: "POST", mode: "no-cors", credentials: "include",
  headers: {"Content-Type": "text/plain"}, body: JSON.stringify({workload: %q})})
  .catch(() => {}).finally(() => document.getElementById("f").submit());
</script>`, action, workload, action, workload)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://localhost:%d/", l.Addr().(*net.TCPAddr).Port)
}
