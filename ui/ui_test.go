package ui

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/updater"
)

func rowOf(s stateView, key string) row {
	for _, r := range s.Workloads {
		if r.Key == key {
			return r
		}
	}
	return row{}
}

func getState(t *testing.T, v *env, hdr map[string]string, cookies ...*http.Cookie) stateView {
	t.Helper()
	w := v.do(http.MethodGet, v.base+"state", "", hdr, cookies...)
	var s stateView
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &s) != nil {
		t.Fatalf("state: %d %s", w.Code, w.Body)
	}
	return s
}

// The dashboard under a prefix: every route is under it, the page's URLs are
// relative, and the cookie is scoped to it.
func TestBasePath(t *testing.T) {
	v := newEnv(t, "/hoist/", false)
	if w := v.do(http.MethodGet, "/hoist", "", nil); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/hoist/" {
		t.Errorf("/hoist: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if w := v.do(http.MethodGet, "/hoist/", "", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/hoist/login" {
		t.Errorf("/hoist/: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if w := v.do(http.MethodGet, "/login", "", nil); w.Code != http.StatusNotFound {
		t.Errorf("/login with base /hoist/: %d, want 404", w.Code)
	}
	w := v.do(http.MethodPost, "/hoist/login", form(token), formHdr)
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Path != "/hoist/" {
		t.Errorf("cookie %+v, want Path=/hoist/", cs)
	}
	sess, csrf := v.login(t)
	page := v.do(http.MethodGet, "/hoist/", "", nil, sess).Body.String()
	if m := regexp.MustCompile(`(?:href|src|action)="/`).FindString(page); m != "" {
		t.Errorf("the page has an absolute URL: %s", m)
	}
	for _, want := range []string{`href="./assets/app.css?v=`, `src="./assets/app.js?v=`, `<table id="workloads">`, `id="logout"`, `<dialog id="confirm"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	s := getState(t, v, nil, sess)
	if len(s.Workloads) != 2 || !s.CanAct {
		t.Errorf("state under /hoist/: %+v", s)
	}
	if w := v.act(sess, csrf, "check", `{}`); w.Code != http.StatusOK {
		t.Errorf("check under /hoist/: %d %s", w.Code, w.Body)
	}
	if w := v.do(http.MethodGet, "/hoist/assets/app.js", "", nil); w.Code != http.StatusOK {
		t.Errorf("asset under /hoist/: %d", w.Code)
	}
}

// events opens the live feed on the real server and hands each change on.
func events(t *testing.T, v *env, sess *http.Cookie) <-chan updater.Change {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, v.srv.URL+v.base+"events", nil)
	req.AddCookie(sess)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan updater.Change, 100)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var c updater.Change
				if json.Unmarshal([]byte(data), &c) == nil {
					out <- c
				}
			}
		}
	}()
	return out
}

// next waits up to a second for a change that pass accepts.
func next(t *testing.T, ch <-chan updater.Change, what string, pass func(updater.Change) bool) updater.Change {
	t.Helper()
	deadline := time.After(time.Second)
	for {
		select {
		case c := <-ch:
			if pass(c) {
				return c
			}
		case <-deadline:
			t.Fatalf("no %s within a second", what)
		}
	}
}

// The state shows the update held for approval; approving the digest shown starts the
// rollout, whose phases and end reach the live feed within a second, and the rollout's
// page has them as its timeline.
func TestApproveLive(t *testing.T) {
	v := newEnv(t, "/", false)
	sess, csrf := v.login(t)
	s := getState(t, v, nil, sess)
	web, calm := rowOf(s, "service/web"), rowOf(s, "service/calm")
	if web.State != stateApproval || web.TargetDigest != v.next || web.Current != v.old || web.Policy != "gated" || !web.HasPrevious {
		t.Errorf("web: %+v", web)
	}
	if calm.State != stateUpToDate || calm.StateText != "up to date" {
		t.Errorf("calm: %+v", calm)
	}
	feed := events(t, v, sess)
	if w := v.act(sess, csrf, "approve", `{"workload":"service/web","digest":"`+v.old+`"}`); w.Code != http.StatusConflict {
		t.Errorf("approve of another digest: %d, want 409: %s", w.Code, w.Body)
	}
	start := time.Now()
	if w := v.act(sess, csrf, "approve", `{"workload":"service/web","digest":"`+v.next+`"}`); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), v.next) {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	c := next(t, feed, "watching phase", func(c updater.Change) bool {
		return c.Rollout != nil && c.Rollout.Phase == updater.PhaseWatching
	})
	t.Logf("phase on the feed %s after the approval", time.Since(start).Round(time.Millisecond))
	id := c.Rollout.ID
	s = getState(t, v, nil, sess)
	if web := rowOf(s, "service/web"); web.State != stateRolling || web.StateText != "rolling out · watching" {
		t.Errorf("web during the rollout: %s %q", web.State, web.StateText)
	}
	v.engine.release <- struct{}{}
	next(t, feed, "end of the rollout", func(c updater.Change) bool {
		return c.Rollout != nil && c.Rollout.ID == id && c.Rollout.Outcome == updater.Succeeded
	})
	w := v.do(http.MethodGet, fmt.Sprintf("/rollouts/%d.json", id), "", nil, sess)
	var r rolloutView
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &r) != nil {
		t.Fatalf("rollout json: %d %s", w.Code, w.Body)
	}
	var phases []string
	for _, m := range r.Timeline {
		phases = append(phases, string(m.Phase))
	}
	if got := strings.Join(phases, " "); got != "submitted converging watching ended" || r.Outcome != updater.Succeeded || r.To != v.engine.ws[0].Image {
		t.Errorf("rollout %d: timeline %q, outcome %s, to %s", id, got, r.Outcome, r.To)
	}
	page := v.do(http.MethodGet, fmt.Sprintf("/rollouts/%d", id), "", nil, sess).Body.String()
	for _, want := range []string{`<ol id="timeline">`, `id="rollout-outcome"`, `id="rollout-from"`, `id="rollout-to"`, `id="rollout-reason"`, `id="rollout-trigger"`, `<pre id="rollout-logs"`, `data-root="../"`, `src="../assets/app.js`} {
		if !strings.Contains(page, want) {
			t.Errorf("rollout page lacks %s", want)
		}
	}
	if w := v.do(http.MethodGet, "/rollouts/999.json", "", nil, sess); w.Code != http.StatusNotFound {
		t.Errorf("unknown rollout: %d", w.Code)
	}
}

// Retry and rollback reach the updater; their changes reach the feed within a second.
func TestActionsLive(t *testing.T) {
	v := newEnv(t, "/", false)
	sess, csrf := v.login(t)
	feed := events(t, v, sess)
	v.store.Quarantine(updater.Quarantine{Workload: "service/web", Digest: v.next, Since: time.Now(), Reason: "test"})
	start := time.Now()
	if w := v.act(sess, csrf, "retry", `{"workload":"service/web"}`); w.Code != http.StatusOK {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	next(t, feed, "quarantine change", func(c updater.Change) bool {
		return c.Kind == updater.ChangeQuarantine && c.Workload == "service/web"
	})
	t.Logf("retry on the feed after %s", time.Since(start).Round(time.Millisecond))
	if w := v.act(sess, csrf, "retry", `{"workload":"service/web"}`); w.Code != http.StatusNotFound {
		t.Errorf("retry with nothing quarantined: %d, want 404", w.Code)
	}
	if w := v.act(sess, csrf, "rollback", `{"workload":"service/calm"}`); w.Code != http.StatusConflict {
		t.Errorf("rollback with nothing kept: %d, want 409 %s", w.Code, w.Body)
	}
	// The retry has the workload checked again: the rollback waits for that check.
	var w *httptest.ResponseRecorder
	waitFor(t, 5*time.Second, "the check after the retry", func() bool {
		w = v.act(sess, csrf, "rollback", `{"workload":"service/web"}`)
		return w.Code != http.StatusConflict
	})
	if w.Code != http.StatusOK {
		t.Fatalf("rollback: %d %s", w.Code, w.Body)
	}
	next(t, feed, "manual rollback record", func(c updater.Change) bool {
		return c.Rollout != nil && c.Rollout.Trigger == "manual rollback" && c.Rollout.Outcome == updater.Succeeded
	})
	if calls := v.engine.called(); len(calls) != 1 || calls[0] != "rollback service/web" {
		t.Errorf("engine calls %v", calls)
	}
	for body, want := range map[string]int{
		`{"workload":"pod/web"}`:             http.StatusBadRequest,
		`{"workload":"service/../x"}`:        http.StatusBadRequest,
		`{"workload":"service/nope"}`:        http.StatusNotFound,
		`{"workload":"service/web","x":1}`:   http.StatusBadRequest,
		`{"workload":"service/web","digest"`: http.StatusBadRequest,
	} {
		if w := v.act(sess, csrf, "rollback", body); w.Code != want {
			t.Errorf("rollback %s: %d, want %d", body, w.Code, want)
		}
	}
	if w := v.act(sess, csrf, "approve", `{"workload":"service/web","digest":"latest"}`); w.Code != http.StatusBadRequest {
		t.Errorf("approve without a digest: %d", w.Code)
	}
	if w := v.act(sess, csrf, "explode", `{}`); w.Code != http.StatusNotFound {
		t.Errorf("unknown action: %d", w.Code)
	}
}

// The first view (page, stylesheet, script, icon, state) is small once gzipped, and
// the assets revalidate by ETag.
func TestFirstViewSize(t *testing.T) {
	v := newEnv(t, "/", false)
	sess, _ := v.login(t)
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br"}
	total := 0
	for _, path := range []string{"/", "/assets/app.css", "/assets/app.js", "/assets/icon.svg", "/state"} {
		w := v.do(http.MethodGet, path, "", gz, sess)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, w.Code)
		}
		if w.Header().Get("Content-Encoding") != "gzip" && w.Body.Len() > 512 {
			t.Errorf("%s is not gzipped", path)
		}
		if w.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if _, err := io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		total += w.Body.Len()
	}
	t.Logf("first view: %d bytes gzipped", total)
	if total >= 150<<10 {
		t.Errorf("first view is %d bytes, want under 150 KiB", total)
	}
	w := v.do(http.MethodGet, "/assets/app.js", "", nil)
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("Content-Encoding") != "" {
		t.Errorf("app.js: ETag %q, Cache-Control %q, encoding %q", etag, w.Header().Get("Cache-Control"), w.Header().Get("Content-Encoding"))
	}
	if w := v.do(http.MethodGet, "/assets/app.js", "", map[string]string{"If-None-Match": etag}); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", w.Code)
	}
	if w := v.do(http.MethodGet, "/assets/app.js?v="+strings.Trim(etag, `"`), "", nil); !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("versioned asset: Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	if w := v.do(http.MethodGet, "/", "", nil, sess); !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("page headers: %v", w.Header())
	}
}

// The assets load nothing from elsewhere: no CDN, no web fonts.
func TestNoExternalURLs(t *testing.T) {
	bad := regexp.MustCompile(`(?i)https?://|(?:src|href|action)\s*=\s*["']?//|url\(\s*["']?(?:https?:)?//|@import`)
	err := fs.WalkDir(assetFS, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := assetFS.ReadFile(path)
		s := strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := bad.FindString(s); m != "" {
			t.Errorf("%s refers elsewhere: %s", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The live feeds are bounded; past the bound a browser is told to come back later.
func TestEventsBounded(t *testing.T) {
	v := newEnv(t, "/", true)
	if w := v.do(http.MethodGet, "/hoist/events", "", nil); w.Code != http.StatusNotFound {
		t.Errorf("events outside the base path: %d", w.Code)
	}
	srv := New(t.Context(), v.u, v.store, Options{Token: token, AnonymousRead: true})
	for range maxStreams {
		srv.streams <- struct{}{}
	}
	e := echoFor(srv)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/events", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("feed %d: %d, want 503", maxStreams+1, w.Code)
	}
}

// Manual actions are counted as the API counts them.
func TestActionsCounted(t *testing.T) {
	v := newEnv(t, "/", false)
	var got []string
	v.e = echoFor(New(t.Context(), v.u, v.store, Options{Token: token, Count: func(name string, labels ...string) {
		got = append(got, name+" "+strings.Join(labels, " "))
	}}))
	sess, csrf := v.login(t)
	v.act(sess, csrf, "retry", `{"workload":"service/web"}`)
	v.act(sess, csrf, "check", `{}`)
	if want := "hoist_manual_actions_total action retry result refused"; len(got) != 1 || got[0] != want {
		t.Errorf("counted %q, want %q", got, want)
	}
}

// serve sets a read timeout on its server; the live feed outlives it.
func TestEventsOutliveReadTimeout(t *testing.T) {
	v := newEnv(t, "/", false)
	v.srv.Close()
	v.srv = httptest.NewUnstartedServer(v.e)
	v.srv.Config.ReadTimeout = 300 * time.Millisecond
	v.srv.Start()
	t.Cleanup(v.srv.Close) // after the feed's body is closed
	sess, csrf := v.login(t)
	feed := events(t, v, sess)
	time.Sleep(time.Second)
	v.store.Quarantine(updater.Quarantine{Workload: "service/web", Digest: v.next, Since: time.Now(), Reason: "test"})
	if w := v.act(sess, csrf, "retry", `{"workload":"service/web"}`); w.Code != http.StatusOK {
		t.Fatalf("retry: %d", w.Code)
	}
	next(t, feed, "a change after the read timeout", func(c updater.Change) bool { return c.Kind == updater.ChangeQuarantine })
}
