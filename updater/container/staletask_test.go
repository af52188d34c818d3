package container

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
)

// refuseStart answers the first n starts of a container as an engine whose runtime
// still holds a task of it ("task <id>: already exists"); everything else goes to the
// engine.
type refuseStart struct {
	base    http.RoundTripper
	n       int64
	refused atomic.Int64
}

func (r *refuseStart) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/start") && r.refused.Load() < r.n {
		r.refused.Add(1)
		id := strings.TrimSuffix(req.URL.Path[strings.LastIndex(strings.TrimSuffix(req.URL.Path, "/start"), "/")+1:], "/start")
		body := `{"message":"task ` + id + `: already exists"}`
		return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error",
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req}, nil
	}
	return r.base.RoundTrip(req)
}

// A start the engine refuses for a stale task is tried again until the engine takes it;
// one it keeps refusing ends with that refusal when the time given runs out.
func TestStartPastStaleTask(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "v1"})
	c := e.run("", v1.Tag.String(), nil, nil, nil)
	stop := func() {
		t.Helper()
		if err := e.b.stop(e.ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	backend := func(n int64) (*Backend, *refuseStart) {
		rs := &refuseStart{n: n}
		dc := testenv.DockerThrough(t, func(base http.RoundTripper) http.RoundTripper { rs.base = base; return rs })
		return New(dc, WithLogger(e.log)), rs
	}

	stop()
	b, rs := backend(2)
	start := time.Now()
	if err := b.start(e.ctx, c.ID); err != nil {
		t.Fatalf("start after two refusals: %v", err)
	}
	if got := rs.refused.Load(); got != 2 {
		t.Errorf("%d starts refused, want 2", got)
	}
	if !running(e.inspect(c.ID)) {
		t.Fatal("container not running after the start was taken")
	}
	t.Logf("started after two stale-task refusals in %s", time.Since(start).Round(time.Millisecond))

	stop()
	b, _ = backend(1 << 30)
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
	defer cancel()
	err := b.start(ctx, c.ID)
	if err == nil || !staleTask(err) && !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("start refused for good: %v, want the refusal or the deadline", err)
	}
	if running(e.inspect(c.ID)) {
		t.Error("container running although every start was refused")
	}
	if _, err := e.c.ContainerStart(e.ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestStaleTaskRecognised(t *testing.T) {
	for msg, want := range map[string]bool{
		"Error response from daemon: task 5e3089cdb34e1555b3bae2da674a8a15190da72e2e3905c00b6cbbde71374f57: already exists": true,
		"Error response from daemon: transport is closing: unavailable":                                                     false,
		"Error response from daemon: Conflict. The container name \"/x\" is already in use":                                 false,
	} {
		if got := staleTask(errString(msg)); got != want {
			t.Errorf("staleTask(%q) = %v, want %v", msg, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
