package ui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// The env trusts the proxies in 10.9.0.0/16 (see newEnv).
const proxyPeer = "10.9.0.1:40000"

// TestHostileLogin: 10,000 wrong tokens from 5,000 addresses, half of them through the
// trusted proxy, then the right token from a fresh address and from one that is being
// throttled (through the proxy): both get in.
func TestHostileLogin(t *testing.T) {
	v := newEnv(t, "/", false)
	attempt := func(peer, forwardedFor, tok string) int {
		hdr := map[string]string{}
		for k, val := range formHdr {
			hdr[k] = val
		}
		if forwardedFor != "" {
			hdr["X-Forwarded-For"] = forwardedFor
		}
		return v.doFrom(peer, http.MethodPost, "/login", form(tok), hdr).Code
	}
	start := time.Now()
	counts := map[int]int{}
	for i := range 10000 {
		a := i % 5000
		if a%2 == 0 {
			counts[attempt(fmt.Sprintf("198.18.%d.%d:1234", a/250, a%250), "", "wrong-token-0123456789")]++
		} else {
			counts[attempt(proxyPeer, fmt.Sprintf("2001:db8:%x::1", a), "wrong-token-0123456789")]++
		}
	}
	// One address sends more than its budget through the proxy.
	const throttled = "203.0.113.9"
	for range loginBurst + 5 {
		counts[attempt(proxyPeer, throttled, "wrong-token-0123456789")]++
	}
	flood := time.Since(start)
	if counts[http.StatusTooManyRequests] != 5 || counts[http.StatusUnauthorized] != 10000+loginBurst {
		t.Errorf("answers to the wrong tokens: %v, want 401 but for the throttled address's last 5 (429)", counts)
	}
	cases := []struct {
		name, peer, forwardedFor, token string
		want                            int
	}{
		{"right token, fresh address", "192.0.2.77:5555", "", token, http.StatusSeeOther},
		{"wrong token, fresh address: not refused for others' failures", "192.0.2.78:5555", "", "wrong-token-0123456789", http.StatusUnauthorized},
		{"wrong token, throttled address", proxyPeer, throttled, "wrong-token-0123456789", http.StatusTooManyRequests},
		{"right token, throttled address through the proxy", proxyPeer, throttled, token, http.StatusSeeOther},
		{"right token, fresh address through the proxy", proxyPeer, "192.0.2.79", token, http.StatusSeeOther},
		{"right token, through a chain of trusted proxies", proxyPeer, throttled + ", 10.9.3.3", token, http.StatusSeeOther},
	}
	for _, c := range cases {
		t0 := time.Now()
		if got := attempt(c.peer, c.forwardedFor, c.token); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("%s: took %s", c.name, d)
		}
	}
	t.Logf("10,015 wrong tokens from 5,001 addresses in %s: %v", flood, counts)
}

// TestHostileForwardedFor: a client that is not a trusted proxy cannot pick the address
// its failures are counted under, nor an IPv6 host a fresh one within its /64.
func TestHostileForwardedFor(t *testing.T) {
	v := newEnv(t, "/", false)
	cases := []struct {
		name    string
		peer    func(i int) string
		forward func(i int) string
	}{
		{"forged X-Forwarded-For from a client", func(int) string { return "198.51.100.4:999" }, func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }},
		{"addresses of one IPv6 /64", func(i int) string { return fmt.Sprintf("[2001:db8:1:2::%x]:999", i+1) }, func(int) string { return "" }},
		{"a hop that does not parse behind the proxy", func(int) string { return proxyPeer }, func(i int) string { return fmt.Sprintf("192.0.2.%d, junk", i) }},
	}
	for _, c := range cases {
		var last int
		for i := range loginBurst + 1 {
			hdr := map[string]string{}
			for k, val := range formHdr {
				hdr[k] = val
			}
			if f := c.forward(i); f != "" {
				hdr["X-Forwarded-For"] = f
			}
			last = v.doFrom(c.peer(i), http.MethodPost, "/login", form("wrong-token-0123456789"), hdr).Code
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("%s: attempt %d answered %d, want 429", c.name, loginBurst+1, last)
		}
	}
}

// TestHostileOrigin: X-Forwarded-Host names the origin asked only when a trusted proxy
// sends it.
func TestHostileOrigin(t *testing.T) {
	v := newEnv(t, "/", false)
	sess, csrf := v.login(t)
	cases := []struct {
		name, peer, origin, forwardedHost string
		want                              int
	}{
		{"Origin evil, X-Forwarded-Host evil, from a client", "", "http://evil", "evil", http.StatusForbidden},
		{"Origin evil, X-Forwarded-Host evil, from a spoofed proxy hop", "192.0.2.5:1", "http://evil", "evil", http.StatusForbidden},
		{"Origin evil alone", "", "http://evil", "", http.StatusForbidden},
		{"Origin the host asked", "", "http://example.com", "", http.StatusOK},
		{"Origin the forwarded host, from the trusted proxy", proxyPeer, "https://hoist.example.org", "hoist.example.org", http.StatusOK},
	}
	for _, c := range cases {
		hdr := map[string]string{"Content-Type": "application/json", csrfHeader: csrf, "Origin": c.origin}
		if c.forwardedHost != "" {
			hdr["X-Forwarded-Host"] = c.forwardedHost
		}
		w := v.doFrom(c.peer, http.MethodPost, "/actions/check", `{}`, hdr, sess)
		if w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
	}
}

// TestHostileHead: HEAD answers wherever GET does, with GET's status and headers and
// no body.
func TestHostileHead(t *testing.T) {
	v := newEnv(t, "/", false)
	sess, _ := v.login(t)
	bearer := map[string]string{"Authorization": "Bearer " + token}
	cases := []struct {
		path string
		hdr  map[string]string
		want int
	}{
		{"/healthz", nil, http.StatusOK},
		{"/", nil, http.StatusSeeOther},
		{"/login", nil, http.StatusOK},
		{"/assets/app.js", nil, http.StatusOK},
		{"/assets/app.css", nil, http.StatusOK},
		{"/assets/icon.svg", nil, http.StatusOK},
		{"/assets/nothing.js", nil, http.StatusNotFound},
		{"/state", nil, http.StatusUnauthorized},
		{"/api/v1/workloads", bearer, http.StatusOK},
		{"/api/v1/rollouts", bearer, http.StatusOK},
		{"/api/v1/openapi.json", bearer, http.StatusOK},
		{"/api/v1/workloads", nil, http.StatusUnauthorized},
		{"/metrics", nil, http.StatusOK},
		{"/logout", nil, http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		get := v.do(http.MethodGet, c.path, "", c.hdr)
		head := v.do(http.MethodHead, c.path, "", c.hdr)
		if get.Code != c.want || head.Code != c.want || head.Body.Len() != 0 {
			t.Errorf("%s: GET %d, HEAD %d with %d bytes; want %d both, HEAD without a body", c.path, get.Code, head.Code, head.Body.Len(), c.want)
		}
		if g, h := get.Header().Get("Content-Type"), head.Header().Get("Content-Type"); g != h {
			t.Errorf("%s: Content-Type GET %q, HEAD %q", c.path, g, h)
		}
	}
	for _, path := range []string{"/", "/state", "/session", "/events"} {
		head := v.do(http.MethodHead, path, "", nil, sess)
		if head.Code != http.StatusOK || head.Body.Len() != 0 {
			t.Errorf("HEAD %s with a session: %d with %d bytes", path, head.Code, head.Body.Len())
		}
	}
}

// TestHostileEarlyRefusals: what the server refuses before a handler runs. Headers
// past api.MaxHeaderBytes get a problem; past Go's own limit (1 MiB + 4 KiB) and for a
// malformed request line, Go's server answers text/plain on its own: no handler of
// hoist runs, so the status is all that is checked there.
func TestHostileEarlyRefusals(t *testing.T) {
	v := newEnv(t, "/", false)
	cases := []struct {
		name    string
		request string
		status  int
		problem bool
	}{
		{"headers of 100 KiB", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", 431, true},
		{"headers past Go's limit", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 1<<20+8<<10) + "\r\n\r\n", 431, false},
		{"malformed request line", "GET\x00 / HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
		{"malformed header line", "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, false},
		{"unknown route", "GET /nothing%20here HTTP/1.1\r\nHost: x\r\n\r\n", 404, true},
		{"HEAD of an unknown route", "HEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, true},
	}
	for _, c := range cases {
		t0 := time.Now()
		res, err := rawRequest(v.srv.Listener.Addr().String(), c.request)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		ct := res.Header.Get("Content-Type")
		if res.StatusCode != c.status || (c.problem && ct != api.ContentTypeProblem) {
			t.Errorf("%s: %d %q, want %d (problem+json: %v)", c.name, res.StatusCode, ct, c.status, c.problem)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("%s: took %s", c.name, d)
		}
	}
}

func rawRequest(addr, req string) (*http.Response, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(conn, req) // the server may answer before it has read it all
	method, _, _ := strings.Cut(req, " ")
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// TestHostileFeeds: one login holds at most maxStreamsPerViewer live feeds; another
// login still gets one.
func TestHostileFeeds(t *testing.T) {
	v := newEnv(t, "/", false)
	first, _ := v.login(t)
	second, _ := v.login(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(c *http.Cookie) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, v.srv.URL+"/events", nil)
		req.AddCookie(c)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for i := range maxStreamsPerViewer {
		if res := open(first); res.StatusCode != http.StatusOK {
			t.Fatalf("feed %d: %d", i+1, res.StatusCode)
		}
	}
	res := open(first)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Content-Type") != api.ContentTypeProblem {
		t.Errorf("feed %d of one login: %d %q, want 429 problem", maxStreamsPerViewer+1, res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res := open(second); res.StatusCode != http.StatusOK {
		t.Errorf("another login's feed: %d", res.StatusCode)
	}
}

// TestHostileText: control and bidi characters in names, reasons and log tails reach
// the page as visible escapes.
func TestHostileText(t *testing.T) {
	cases := []struct{ in, want, wantLog string }{
		{"plain", "plain", "plain"},
		{"café 日本 ✓", "café 日本 ✓", "café 日本 ✓"},
		{"red\x1b[31m", `red\x1b[31m`, `red\x1b[31m`},
		{"nul\x00bell\x07del\x7f", `nul\x00bell\x07del\x7f`, `nul\x00bell\x07del\x7f`},
		{"c1\u0085\u009b", `c1\x85\x9b`, `c1\x85\x9b`},
		{"exe.\u202etxt", `exe.\u202etxt`, `exe.\u202etxt`},
		{"\u202a\u202b\u202c\u202d", `\u202a\u202b\u202c\u202d`, `\u202a\u202b\u202c\u202d`},
		{"\u2066a\u2067b\u2068c\u2069", `\u2066a\u2067b\u2068c\u2069`, `\u2066a\u2067b\u2068c\u2069`},
		{"\u200ex\u200f", `\u200ex\u200f`, `\u200ex\u200f`},
		{"line\n\ttab\r", `line\x0a\x09tab\x0d`, "line\n\ttab\\x0d"},
	}
	for _, c := range cases {
		if got := visible(c.in, false); got != c.want {
			t.Errorf("visible(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := visible(c.in, true); got != c.wantLog {
			t.Errorf("visible(%q) in a log = %q, want %q", c.in, got, c.wantLog)
		}
	}

	// Through the dashboard: a workload's name in the state, a record's reason and logs.
	v := newEnv(t, "/", false)
	sess, _ := v.login(t)
	const evil = "web\x1b[2J\u202eexe"
	v.engine.mu.Lock()
	v.engine.ws = append(v.engine.ws, updater.Workload{Kind: policy.Service, ID: "s3", Name: evil, Image: v.engine.ws[0].Image})
	v.engine.mu.Unlock()
	id, err := v.store.Add(updater.Rollout{Workload: "service/" + evil, Outcome: updater.Failed, Started: time.Now(), Ended: time.Now(),
		Reason: "task said \x1b]0;owned\x07", Logs: "ok\n\tstill ok\n\x1b[31mred\u2066"})
	if err != nil {
		t.Fatal(err)
	}
	state := v.do(http.MethodGet, "/state", "", nil, sess).Body.String()
	if !strings.Contains(state, `web\\x1b[2J\\u202eexe`) || strings.Contains(state, `\u001b`) || strings.Contains(state, "\u202e") {
		t.Errorf("state shows the name as %s", between(state, `"name":"web`, `"`))
	}
	rec := v.do(http.MethodGet, fmt.Sprintf("/rollouts/%d.json", id), "", nil, sess).Body.String()
	for _, want := range []string{`task said \\x1b]0;owned\\x07`, `ok\n\tstill ok\n\\x1b[31mred\\u2066`} {
		if !strings.Contains(rec, want) {
			t.Errorf("record %s lacks %s", rec, want)
		}
	}
}
