package updater

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// flakyEngine is a backend whose engine does not answer the first listings: a corner a
// real engine reaches only when it restarts, which the tests of the real backends
// cannot time. Everything else here is real: registry, resolver, store, updater.
type flakyEngine struct {
	mu      sync.Mutex
	calls   int
	failOn  map[int]bool // which listings fail (1 is the first)
	w       Workload
	updated chan Target
}

func (f *flakyEngine) Kind() policy.Kind { return policy.Service }

func (f *flakyEngine) List(ctx context.Context) ([]Workload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failOn[f.calls] {
		return nil, errors.New("Cannot connect to the Docker daemon")
	}
	return []Workload{f.w}, nil
}

func (f *flakyEngine) Update(ctx context.Context, ws []Workload, t Target, p Plan, j Journal, log zerolog.Logger) Result {
	f.updated <- t
	return Result{Outcome: Succeeded}
}

func (f *flakyEngine) Rollback(ctx context.Context, w Workload) error { return nil }
func (f *flakyEngine) Finish(ctx context.Context, w Workload) error   { return nil }

// expectRollout fails the test unless eng is asked to roll out want within d; lost
// says what went wrong when it is not.
func (f *flakyEngine) expectRollout(t *testing.T, want v1.Hash, d time.Duration, lost string) {
	t.Helper()
	select {
	case got := <-f.updated:
		if got.Digest != want {
			t.Fatalf("rolled out %s, want the pushed %s", got.Digest, want)
		}
	case <-time.After(d):
		t.Fatal(lost)
	}
}

// flakyUpdater runs an updater over eng, which must hold a service named app, with a
// policy p that follows its digest, a fresh store and a resolver made with ro; edit,
// when not nil, changes the updater before it runs. The test's cleanup stops it.
func flakyUpdater(t *testing.T, eng *flakyEngine, ro registry.Options, edit func(*Updater)) *Updater {
	t.Helper()
	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rule, _ := policy.NewRule("p", []string{"app"}, nil, nil, policy.Digest, "")
	u := New(Options{Backends: []Backend{eng}, Policies: policy.NewSet(rule), Plans: map[string]Plan{"p": {}},
		Resolver: registry.New(ro), Store: store, Log: zerolog.Nop()})
	if edit != nil {
		edit(u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return u
}

// A push that arrives while the engine cannot list workloads is kept and acted on once
// the engine answers again, not dropped until the next push: whether the listing fails
// when the event is dispatched, or when its rollout job lists afresh.
func TestEventSurvivesListingFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		failOn map[int]bool
	}{
		{"at dispatch", map[int]bool{1: true, 2: true}}, // nothing listed yet: dispatch lists (2)
		{"in the job", map[int]bool{2: true}},           // Run lists (1); dispatch reuses that; the job lists afresh (2)
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.NewRegistry(t)
			ref := reg.Host + "/app:stable"
			d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
			eng := &flakyEngine{failOn: tc.failOn, updated: make(chan Target, 1),
				w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
			u := flakyUpdater(t, eng, registry.Options{}, nil)

			d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
			tag, _ := name.NewTag(ref)
			time.Sleep(100 * time.Millisecond) // Run's first listing is done
			u.Enqueue(registry.PushEvent{Repo: tag.Context(), Tag: "stable", Source: "distribution"})
			eng.expectRollout(t, d2, 3*retryList, "the event was lost when the engine did not answer")
		})
	}
}

// A push whose digest check meets a registry's bad minute (503s) is checked again
// later, not lost until the next push, polling off.
func TestPushSurvivesRegistryOutage(t *testing.T) {
	var down atomic.Bool
	inner := ggcrregistry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	eng := &flakyEngine{updated: make(chan Target, 1), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
	u := flakyUpdater(t, eng, registry.Options{Retries: -1, Backoff: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond},
		func(u *Updater) { u.checkRetry = 300 * time.Millisecond })

	down.Store(true)
	tag, _ := name.NewTag(ref)
	u.Enqueue(registry.PushEvent{Repo: tag.Context(), Tag: "stable", Source: "distribution"})
	time.Sleep(200 * time.Millisecond)
	select {
	case got := <-eng.updated:
		t.Fatalf("rolled out %s while the registry answered 503", got.Digest)
	default:
	}
	down.Store(false)
	eng.expectRollout(t, d2, 5*time.Second, "the push was lost to the registry's outage")
}
