package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
)

// Watchtower's POST /v1/update, through the router: the bearer token is required, no
// image asks for a check of everything, ?image= hands events on.
func TestWatchtowerTrigger(t *testing.T) {
	sink := &fakeSink{watched: true}
	var all atomic.Int32
	var logs syncBuffer
	w := NewWatchtower(config.Webhooks{Watchtower: &config.WatchtowerSource{Token: tok}}, sink,
		func(source string) {
			if source == "watchtower" {
				all.Add(1)
			}
		}, zerolog.New(&logs))
	e := echo.New()
	w.Register(e)
	do := func(target, auth string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, target, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	cases := []struct {
		target, auth string
		want         int
		all, events  int // checks of everything and events handed on so far
	}{
		{"/v1/update", "", 401, 0, 0},
		{"/v1/update", "Bearer wrong-token-0123456789", 401, 0, 0},
		{"/v1/update", tok, 401, 0, 0}, // Watchtower always wanted the Bearer scheme
		{"/v1/update", "Bearer " + tok, 202, 1, 0},
		{"/v1/update?image=", "bearer " + tok, 202, 2, 0},
		{"/v1/update?image=redis,ghcr.io/org/app:1.4,localhost:5000/team/web", "Bearer " + tok, 202, 2, 3},
		{"/v1/update?image=UPPER/case", "Bearer " + tok, 400, 2, 3},
		{"/v1/update?image=app@sha256:0000", "Bearer " + tok, 400, 2, 3},
		{"/v1/update?image=app:bad%20tag", "Bearer " + tok, 400, 2, 3},
		{"/v1/update?image=redis", "", 401, 2, 3},
	}
	for _, c := range cases {
		code, body := do(c.target, c.auth)
		if code != c.want || int(all.Load()) != c.all || len(sink.got()) != c.events {
			t.Errorf("%s (auth %q): %d %s; checks %d, events %d; want %d, %d, %d", c.target, c.auth, code, body, all.Load(), len(sink.got()), c.want, c.all, c.events)
		}
	}
	evs := sink.got()
	want := []string{"index.docker.io/library/redis:", "ghcr.io/org/app:1.4", "localhost:5000/team/web:"}
	for i, ev := range evs {
		if got := ev.Repo.Name() + ":" + ev.Tag; got != want[i] || ev.Source != "watchtower" {
			t.Errorf("event %d: %s from %s, want %s from watchtower", i, got, ev.Source, want[i])
		}
	}
	if strings.Contains(logs.String(), tok) {
		t.Error("the token was logged")
	}
	// GET is not Watchtower's API.
	req := httptest.NewRequest(http.MethodGet, "/v1/update", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
}

// Without webhooks.watchtower, or with a short token, nothing is mounted.
func TestWatchtowerNotMounted(t *testing.T) {
	for _, cfg := range []config.Webhooks{{}, {Watchtower: &config.WatchtowerSource{Token: "short"}}} {
		w := NewWatchtower(cfg, &fakeSink{}, func(string) { t.Error("check started") }, zerolog.Nop())
		e := echo.New()
		w.Register(e)
		req := httptest.NewRequest(http.MethodPost, "/v1/update", nil)
		req.Header.Set("Authorization", "Bearer short")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%+v: %d", cfg.Watchtower, rec.Code)
		}
	}
}

// Whatever ?image= holds, parsing ends in events whose repository parses back, or in a
// refusal; it never panics.
func FuzzWatchtowerImages(f *testing.F) {
	for _, s := range []string{"", "redis", "ghcr.io/org/app:1.4,redis", "a@sha256:00", ",,,", "localhost:5000/x:y:z", "UPPER", strings.Repeat("a,", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		evs, err := parseWatchtowerImages(q)
		if err != nil {
			return
		}
		if len(evs) > maxWatchtowerImages {
			t.Fatalf("%d events", len(evs))
		}
		for _, ev := range evs {
			if _, err := name.NewRepository(ev.Repo.Name()); err != nil {
				t.Fatalf("%q: event repository %q does not parse back: %v", q, ev.Repo.Name(), err)
			}
			if ev.Tag != "" && !validTag(ev.Tag) {
				t.Fatalf("%q: tag %q", q, ev.Tag)
			}
		}
	})
}
