package testenv

import (
	"context"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// Docker returns a client for the engine named by DOCKER_HOST (or the usual socket).
// Without a reachable engine in Swarm mode the test skips, or fails when CI=true.
// Start one with scripts/engine.sh.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	c, why := connect()
	if why != "" {
		Missing(t, why)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connect makes a client of the engine at DOCKER_HOST and checks that it answers and
// is in Swarm mode; otherwise it says why it cannot be used.
func connect() (*client.Client, string) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, "no Docker engine reachable (" + err.Error() + "); run: eval \"$(scripts/engine.sh start)\""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := c.Info(ctx, client.InfoOptions{})
	switch {
	case err != nil:
		c.Close()
		return nil, "no Docker engine reachable (" + err.Error() + "); run: eval \"$(scripts/engine.sh start)\""
	case info.Info.Swarm.LocalNodeState != "active":
		c.Close()
		return nil, "the Docker engine is not in Swarm mode (docker swarm init --advertise-addr 127.0.0.1)"
	}
	return c, ""
}

// DockerThrough is a client of the engine at DOCKER_HOST (a unix socket) whose
// requests go through the transport wrap makes of the socket's: for a test that must
// see, hold or fail one request as the engine would.
func DockerThrough(t testing.TB, wrap func(base http.RoundTripper) http.RoundTripper) *client.Client {
	t.Helper()
	host, err := client.ParseHostURL(os.Getenv("DOCKER_HOST"))
	if err != nil || host.Scheme != "unix" {
		Missing(t, "DOCKER_HOST=unix://… (this test wraps the socket's transport)")
	}
	base := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", host.Host)
	}}
	c, err := client.New(client.FromEnv, client.WithHTTPClient(&http.Client{Transport: wrap(base)}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Missing skips, or fails under CI=true, because a real dependency is absent.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required for this test and missing in CI: %s", why)
	}
	t.Skipf("skipped: %s (set CI=true to make this a failure)", why)
}
