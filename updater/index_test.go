package updater_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
	hswarm "github.com/hoist-dev/hoist/updater/swarm"
)

// indexedBackend is the real Swarm backend with its index, its engine listings counted.
type indexedBackend struct {
	*hswarm.Backend
	lists atomic.Int64
}

func (c *indexedBackend) List(ctx context.Context) ([]updater.Workload, error) {
	c.lists.Add(1)
	return c.Backend.List(ctx)
}

// TestIndexedEventNeedsNoListing: with the backend's index live, a push event that rolls
// two services out lists nothing from the engine and matches again only the services
// that changed; an event that finds nothing moved lists nothing and matches nothing.
func TestIndexedEventNeedsNoListing(t *testing.T) {
	c := testenv.Docker(t)
	t.Parallel()
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	prefix := "hoist-index-" + randomHex()
	var ws []updater.Workload
	for _, n := range []string{"a", "b"} {
		ws = append(ws, createService(t, c, prefix+"-"+n, ref+"@"+d1.String()))
	}
	rule, err := policy.NewRule("p", []string{prefix + "-*"}, nil, nil, policy.Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	store, err := updater.OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := &indexedBackend{Backend: hswarm.New(c)}
	plan := updater.Plan{Written: updater.AllFields, Parallelism: 1, Monitor: time.Second, Watch: 2 * time.Second, Timeout: 90 * time.Second}
	u := updater.New(updater.Options{Backends: []updater.Backend{b}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{"p": plan}, Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { u.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	waitFor(t, 30*time.Second, "the index", func() bool { _, live := b.Current(); return live })
	if _, err := u.Workloads(ctx); err != nil { // the first match of every service
		t.Fatal(err)
	}

	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	tag, _ := name.NewTag(ref)
	ev := registry.PushEvent{Repo: tag.Context(), Tag: "stable", Source: "distribution"}
	lists, matches := b.lists.Load(), updater.Matches(u)
	if !u.Enqueue(ev) {
		t.Fatal("the event was dropped")
	}
	for _, w := range ws {
		waitFor(t, 3*time.Minute, w.Name+"'s rollout", func() bool {
			rs, err := store.Rollouts(w.Key(), 0)
			return err == nil && len(rs) == 1 && rs[0].Outcome == updater.Succeeded && strings.HasSuffix(rs[0].To, d2.String())
		})
	}
	settle(u)
	if n := b.lists.Load() - lists; n != 0 {
		t.Errorf("an event that rolls two services out listed the engine %d times, want 0", n)
	}
	t.Logf("an event that rolls two services out: %d matches", updater.Matches(u)-matches)

	// An event that finds nothing moved: read from the index; only services that changed
	// since the last listing (the engine is shared: others' services come and go) are
	// matched again, never ours. The first listing after the rollouts reads the two
	// services from the engine again (their events may still be on their way).
	if _, err := u.Workloads(ctx); err != nil {
		t.Fatal(err)
	}
	s1, _ := b.Current()
	before := time.Now()
	lists, matches = b.lists.Load(), updater.Matches(u)
	ev.Source = "api"
	u.Enqueue(ev)
	waitFor(t, 30*time.Second, "the check of the second event", func() bool { return updater.ListedAt(u).After(before) })
	settle(u)
	s2, _ := b.Current()
	n, m, changed := b.lists.Load()-lists, updater.Matches(u)-matches, newRevs(s1, s2)
	t.Logf("an event that finds nothing moved: %d engine listings, %d matches, %d services changed meanwhile", n, m, changed)
	if n != 0 || m > int64(changed) {
		t.Errorf("an event that finds nothing moved: %d engine listings, %d matches; want none, and a match only for the %d services that changed", n, m, changed)
	}
}

// newRevs counts the revisions of b that a did not hold: services created or changed.
func newRevs(a, b updater.Snapshot) int {
	had := make(map[uint64]bool, len(a.Revs))
	for _, r := range a.Revs {
		had[r] = true
	}
	n := 0
	for _, r := range b.Revs {
		if !had[r] {
			n++
		}
	}
	return n
}
