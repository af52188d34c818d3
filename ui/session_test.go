package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/updater"
)

func form(tok string) string { return url.Values{"token": {tok}}.Encode() }

var formHdr = map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}

func TestLogin(t *testing.T) {
	v := newEnv(t, "/", false)
	if w := v.do(http.MethodGet, "/", "", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Errorf("page without a session: %d to %q, want 303 to /login", w.Code, w.Header().Get("Location"))
	}
	for _, path := range []string{"/state", "/session", "/events", "/rollouts/1.json", "/rollouts/1"} {
		w := v.do(http.MethodGet, path, "", nil)
		if want := http.StatusUnauthorized; strings.HasSuffix(path, "/1") {
			if w.Code != http.StatusSeeOther {
				t.Errorf("%s without a session: %d, want 303", path, w.Code)
			}
		} else if w.Code != want {
			t.Errorf("%s without a session: %d, want %d", path, w.Code, want)
		}
	}
	w := v.do(http.MethodGet, "/login", "", nil)
	for _, want := range []string{`<form id="login" method="post" action="login">`, `<input id="token" name="token" type="password" autocomplete="current-password"`, `<button id="login-submit" type="submit">`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	w = v.do(http.MethodPost, "/login", form("wrong-token-0123456789"), formHdr)
	if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 || !strings.Contains(w.Body.String(), `id="login-error"`) || !strings.Contains(w.Body.String(), "wrong token") {
		t.Errorf("wrong token: %d, cookies %v, body %s", w.Code, w.Result().Cookies(), w.Body)
	}
	w = v.do(http.MethodPost, "/login", form(token), formHdr)
	cs := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || len(cs) != 1 {
		t.Fatalf("right token: %d, cookies %v", w.Code, cs)
	}
	c := cs[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge != int((12*time.Hour).Seconds()) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP, 12h", c)
	}
	hdr := map[string]string{"X-Forwarded-Proto": "https"}
	for k, val := range formHdr {
		hdr[k] = val
	}
	if cs := v.do(http.MethodPost, "/login", form(token), hdr).Result().Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("behind a TLS proxy: cookies %+v, want Secure", cs)
	}
	sess, csrf := v.login(t)
	// Logout needs the page's token too, then the session is gone.
	if w := v.do(http.MethodPost, "/logout", "", formHdr, sess); w.Code != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %d, want 403", w.Code)
	}
	w = v.do(http.MethodPost, "/logout", url.Values{"csrf": {csrf}}.Encode(), formHdr, sess)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Errorf("logout: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if w := v.do(http.MethodGet, "/", "", nil, sess); w.Code != http.StatusSeeOther {
		t.Errorf("page after logout: %d, want 303", w.Code)
	}
}

func TestLoginLimited(t *testing.T) {
	v := newEnv(t, "/", false)
	var w interface{ Header() http.Header }
	codes := []int{}
	for range loginBurst + 1 {
		r := v.do(http.MethodPost, "/login", form("wrong-token-0123456789"), formHdr)
		codes = append(codes, r.Code)
		w = r
	}
	if codes[loginBurst-1] != http.StatusUnauthorized || codes[loginBurst] != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("answers %v, want %d × 401 then 429 with Retry-After", codes, loginBurst)
	}
	// The right token is taken all the same: failing on purpose locks nobody out.
	if r := v.do(http.MethodPost, "/login", form(token), formHdr); r.Code != http.StatusSeeOther {
		t.Errorf("right token while limited: %d, want 303", r.Code)
	}
}

func TestSessionsBounded(t *testing.T) {
	now := time.Unix(0, 0)
	s := newSessions(time.Hour, func() time.Time { return now }, token)
	first, _ := s.create()
	for range maxSessions + 10 {
		now = now.Add(time.Millisecond)
		s.create()
	}
	if len(s.m) > maxSessions {
		t.Errorf("%d sessions kept, want at most %d", len(s.m), maxSessions)
	}
	if _, ok := s.get(first); ok {
		t.Error("the oldest session survived eviction")
	}
	id, _ := s.create()
	now = now.Add(2 * time.Hour)
	if _, ok := s.get(id); ok {
		t.Error("an expired session is still valid")
	}
}

// problemOf decodes a problem+json answer.
func problemOf(t *testing.T, w interface {
	Header() http.Header
}, body []byte) api.Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != api.ContentTypeProblem {
		t.Errorf("content type %q, want %s", ct, api.ContentTypeProblem)
	}
	var p api.Problem
	json.Unmarshal(body, &p)
	return p
}

// Actions need the session's CSRF token in the header, and are refused from another
// site whatever they carry; a refused action changes nothing.
func TestCSRF(t *testing.T) {
	v := newEnv(t, "/", false)
	sess, csrf := v.login(t)
	q := updater.Quarantine{Workload: "service/web", Digest: v.next, Since: time.Now(), Reason: "test"}
	if err := v.store.Quarantine(q); err != nil {
		t.Fatal(err)
	}
	retry := `{"workload":"service/web"}`
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"no token", map[string]string{"Content-Type": "application/json", "Origin": "http://example.com"}},
		{"wrong token", map[string]string{"Content-Type": "application/json", csrfHeader: "x" + csrf}},
		{"cross-site origin", map[string]string{"Content-Type": "application/json", csrfHeader: csrf, "Origin": "https://evil.example"}},
		{"cross-site fetch", map[string]string{"Content-Type": "application/json", csrfHeader: csrf, "Sec-Fetch-Site": "cross-site"}},
		{"same-site fetch", map[string]string{"Content-Type": "application/json", csrfHeader: csrf, "Sec-Fetch-Site": "same-site"}},
		{"null origin", map[string]string{"Content-Type": "application/json", csrfHeader: csrf, "Origin": "null"}},
		{"form from another site", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
	} {
		w := v.do(http.MethodPost, "/actions/retry", retry, tc.hdr, sess)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403: %s", tc.name, w.Code, w.Body)
			continue
		}
		if p := problemOf(t, w, w.Body.Bytes()); p.Status != http.StatusForbidden || p.Type != api.ProblemType+"forbidden" {
			t.Errorf("%s: problem %+v", tc.name, p)
		}
	}
	for _, action := range []string{"approve", "rollback", "retry", "check"} {
		w := v.do(http.MethodPost, "/actions/"+action, "workload=service%2Fweb", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"})
		if w.Code != http.StatusForbidden {
			t.Errorf("cross-site form post to %s without a cookie: %d, want 403", action, w.Code)
		}
	}
	if qs, _ := v.store.Quarantines("service/web"); len(qs) != 1 {
		t.Errorf("quarantines after refused actions: %v, want the one kept", qs)
	}
	if calls := v.engine.called(); len(calls) != 0 {
		t.Errorf("the engine was asked %v", calls)
	}
	// X-Forwarded-Host names the origin asked only from a trusted proxy.
	hdr := map[string]string{"Content-Type": "application/json", csrfHeader: csrf, "Origin": "https://hoist.example.org", "X-Forwarded-Host": "hoist.example.org"}
	if w := v.do(http.MethodPost, "/actions/retry", retry, hdr, sess); w.Code != http.StatusForbidden {
		t.Errorf("X-Forwarded-Host from a client: %d, want 403", w.Code)
	}
	// Behind a proxy that rewrites Host, X-Forwarded-Host names the origin asked.
	if w := v.doFrom("10.9.0.1:4000", http.MethodPost, "/actions/retry", retry, hdr, sess); w.Code != http.StatusOK {
		t.Errorf("through a proxy: %d %s", w.Code, w.Body)
	}
	if qs, _ := v.store.Quarantines("service/web"); len(qs) != 0 {
		t.Errorf("quarantines after retry: %v, want none", qs)
	}
}

func TestAnonymousRead(t *testing.T) {
	v := newEnv(t, "/", true)
	w := v.do(http.MethodGet, "/", "", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<meta name="csrf-token" content="">`) || strings.Contains(w.Body.String(), `id="check-now"`) {
		t.Errorf("anonymous page: %d, want 200 without a CSRF token or actions", w.Code)
	}
	w = v.do(http.MethodGet, "/state", "", nil)
	var s stateView
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &s) != nil || s.CanAct || len(s.Workloads) != 2 {
		t.Errorf("anonymous state: %d %s", w.Code, w.Body)
	}
	w = v.do(http.MethodPost, "/actions/check", `{}`, map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous action: %d, want 401", w.Code)
	}
	// A login still gives the actions.
	sess, csrf := v.login(t)
	if w := v.act(sess, csrf, "check", `{}`); w.Code != http.StatusOK {
		t.Errorf("check after login: %d %s", w.Code, w.Body)
	}
}

// With a sessions file, a login outlives the process, and so does a logout; the file
// holds no usable session id.
func TestSessionsKept(t *testing.T) {
	file := t.TempDir() + "/ui-sessions.json"
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	a := newSessions(time.Hour, clock, token)
	a.file = file
	kept, sess := a.create()
	gone, _ := a.create()
	a.drop(gone)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), kept) || strings.Contains(string(b), gone) {
		t.Errorf("the file holds a session id: %s", b)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	next := newSessions(time.Hour, clock, token)
	next.file = file
	if err := next.load(); err != nil {
		t.Fatal(err)
	}
	if got, ok := next.get(kept); !ok || got.csrf != sess.csrf {
		t.Errorf("the login did not survive: %v", ok)
	}
	if _, ok := next.get(gone); ok {
		t.Error("a logged-out session came back")
	}
	// A new api.token, a shorter session_ttl since, or the time passing ends them.
	rotated := newSessions(time.Hour, clock, token+"x")
	rotated.file = file
	rotated.load()
	if _, ok := rotated.get(kept); ok {
		t.Error("a session survived a new api.token")
	}
	short := newSessions(time.Minute, clock, token)
	short.file = file
	short.load()
	if _, ok := short.get(kept); ok {
		t.Error("a session longer than today's session_ttl was kept")
	}
	now = now.Add(2 * time.Hour)
	late := newSessions(time.Hour, clock, token)
	late.file = file
	late.load()
	if len(late.m) != 0 {
		t.Errorf("%d expired sessions loaded", len(late.m))
	}
}

// A dashboard started again with the same sessions file takes the cookie and the
// CSRF token of a page loaded before the restart.
func TestLoginSurvivesRestart(t *testing.T) {
	v := newEnv(t, "/", false)
	file := t.TempDir() + "/ui-sessions.json"
	first := echoFor(New(t.Context(), v.u, v.store, Options{Token: token, SessionFile: file}))
	v.e = first
	sess, csrf := v.login(t)
	v.e = echoFor(New(t.Context(), v.u, v.store, Options{Token: token, SessionFile: file}))
	if w := v.act(sess, csrf, "check", `{}`); w.Code != http.StatusOK {
		t.Errorf("action after the restart: %d %s", w.Code, w.Body)
	}
	v.e = echoFor(New(t.Context(), v.u, v.store, Options{Token: token + "-new", SessionFile: file}))
	if w := v.act(sess, csrf, "check", `{}`); w.Code != http.StatusUnauthorized {
		t.Errorf("action after a restart with a new token: %d, want 401", w.Code)
	}
}
