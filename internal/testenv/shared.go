package testenv

import (
	"sync"
	"testing"

	"github.com/moby/moby/client"
)

// E2E is what the end-to-end tests of one test binary share: one client of the engine,
// one in-process registry, and the test program's images, each built once. Tests stay
// apart by name: each runs workloads and pushes repositories named for itself, so they
// can run side by side. A test that must hold, count or break its registry's answers
// starts one of its own (NewRegistry).
type E2E struct {
	// Docker is the engine at DOCKER_HOST, in Swarm mode.
	Docker *client.Client
	// Registry is the shared registry the engine pulls from over plain HTTP.
	Registry *Registry
}

var shared struct {
	once    sync.Once
	env     *E2E
	missing string // why there is no engine, when there is none
}

// Shared returns the test binary's E2E, set up by the first test that asks for it and
// kept until the binary exits. Without a reachable engine in Swarm mode the test skips,
// or fails when CI=true, as with Docker.
func Shared(t testing.TB) *E2E {
	t.Helper()
	shared.once.Do(func() {
		c, why := connect()
		if why != "" {
			shared.missing = why
			return
		}
		shared.env = &E2E{Docker: c, Registry: startRegistry()}
	})
	if shared.env == nil {
		Missing(t, shared.missing)
	}
	return shared.env
}

// Repo is the repository path under the shared registry ("127.0.0.1:port/path").
func (e *E2E) Repo(path string) string { return e.Registry.Host + "/" + path }

// Push pushes the test program's image a as repo:tag and returns the pinned image,
// repo:tag@digest.
func (e *E2E) Push(t testing.TB, repo, tag string, a App) string {
	t.Helper()
	return repo + ":" + tag + "@" + PushApp(t, repo+":"+tag, a).String()
}
