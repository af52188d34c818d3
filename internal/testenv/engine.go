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
	c, err := client.New(client.FromEnv)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var info client.SystemInfoResult
		info, err = c.Info(ctx, client.InfoOptions{})
		if err == nil && info.Info.Swarm.LocalNodeState != "active" {
			Missing(t, "the Docker engine is not in Swarm mode (docker swarm init --advertise-addr 127.0.0.1)")
		}
	}
	if err != nil {
		Missing(t, "no Docker engine reachable ("+err.Error()+"); run: eval \"$(scripts/engine.sh start)\"")
	}
	t.Cleanup(func() { c.Close() })
	return c
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
