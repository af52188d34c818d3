package apiclient

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/store"
	"github.com/hoist-dev/hoist/updater"
)

const token = "0123456789abcdef0123456789abcdef"

// server is the real API over a real updater and store, with no workloads.
func server(t *testing.T) string {
	t.Helper()
	st, err := store.Open[updater.Plan](t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u := updater.New(updater.Options{Policies: policy.NewSet(), Resolver: registry.New(registry.Options{}), Store: st, Log: zerolog.Nop()})
	e := echo.New()
	api.New(context.Background(), u, token, api.NewMetrics()).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The API's problem answers show as their title and detail; a wrong token, and an
// address where nothing listens, are told apart.
func TestClientAgainstTheAPI(t *testing.T) {
	ctx := context.Background()
	url := server(t)
	c := New(url, token, time.Second)
	if !c.Healthy(ctx) {
		t.Fatal("not healthy")
	}
	if rs, err := c.Rollouts(ctx, "", 0); err != nil || len(rs) != 0 {
		t.Fatalf("rollouts: %v %v", rs, err)
	}
	_, err := c.Approve(ctx, "service/nothing-here", "sha256:"+strings.Repeat("a", 64))
	var ae *AnswerError
	if !errors.As(err, &ae) || ae.Problem.Title == "" || ae.Problem.Detail == "" ||
		!strings.Contains(err.Error(), ae.Problem.Title+": "+ae.Problem.Detail) {
		t.Fatalf("approve of an unknown workload: %v (%+v), want the problem's title and detail", err, ae)
	}
	t.Log(err)

	_, err = New(url, "wrong-token-0123456789abcdef012345", time.Second).Rollouts(ctx, "", 0)
	var refused *TokenRefusedError
	if !errors.As(err, &refused) || refused.Answer.Problem.Title == "" {
		t.Fatalf("wrong token: %v", err)
	}

	srv := httptest.NewServer(nil)
	dead := srv.URL
	srv.Close()
	_, err = New(dead, token, time.Second).Rollouts(ctx, "", 0)
	var none *NoServerError
	if !errors.As(err, &none) {
		t.Fatalf("nothing listening: %v", err)
	}
}

// An answer that is no problem shows its text, on one line and escaped.
func TestAnswerOfText(t *testing.T) {
	e := answerOf(502, []byte("bad\ngateway \x1b[31m"))
	if got := e.Error(); got != `bad gateway \x1b[31m (HTTP 502)` {
		t.Errorf("got %q", got)
	}
	if got := answerOf(500, nil).Error(); got != "no message (HTTP 500)" {
		t.Errorf("got %q", got)
	}
}
