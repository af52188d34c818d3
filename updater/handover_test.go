package updater

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// stoppable is a backend whose rollouts watch until hoist stops, then hand over; its
// Resume ends them as succeeded.
type stoppable struct {
	flakyEngine
	watching chan struct{}
}

func (s *stoppable) Update(ctx context.Context, ws []Workload, t Target, p Plan, j Journal, log zerolog.Logger) Result {
	s.updated <- t
	j.Enter(PhaseConverging)
	j.Enter(PhaseWatching)
	close(s.watching)
	<-ctx.Done()
	return Result{Outcome: HandedOver, Reason: "hoist stopped while watching"}
}

func (s *stoppable) Resume(ctx context.Context, w Workload, rec Rollout, t Target, p Plan, j Journal, log zerolog.Logger) Result {
	j.Enter(PhaseWatching)
	return Result{Outcome: Succeeded}
}

func (s *stoppable) Unfinished(ctx context.Context, ws []Workload, known func(string) bool, plans func(Workload) (Plan, bool)) []Rollout {
	return nil
}

// A rollout handed over by a stopping hoist is not ended: its record stays running in
// its phase, nothing is quarantined or counted, it is not tried again in the stopping
// process, and the next hoist resumes it to its true end in the same record.
func TestHandedOverLeftRunning(t *testing.T) {
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rule, _ := policy.NewRule("p", []string{"app"}, nil, nil, policy.Digest, "")
	eng := &stoppable{watching: make(chan struct{})}
	eng.flakyEngine = flakyEngine{updated: make(chan Target, 4), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
	var mu sync.Mutex
	counted := map[string]int{}
	var ended []Rollout
	u := New(Options{Backends: []Backend{eng}, Policies: policy.NewSet(rule), Plans: map[string]Plan{"p": {}},
		Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop(),
		Count: func(name string, labels ...string) {
			mu.Lock()
			defer mu.Unlock()
			counted[name]++
		},
		OnRecord: func(r Rollout) {
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, r)
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	u.Enqueue(registry.PushEvent{Repo: mustTag(t, ref).Context(), Tag: "stable", Source: "distribution"})
	select {
	case <-eng.watching:
	case <-time.After(10 * time.Second):
		t.Fatal("the rollout never started")
	}
	cancel()
	<-done

	rs, err := store.Rollouts("service/app", 0)
	if err != nil || len(rs) != 1 {
		t.Fatalf("records %+v (%v), want one", rs, err)
	}
	r := rs[0]
	if r.Outcome != Running || r.Phase != PhaseWatching || !r.Ended.IsZero() {
		t.Fatalf("handed-over record: %+v, want running, watching", r)
	}
	if q, _ := store.IsQuarantined("service/app", d2.String()); q {
		t.Fatal("a handed-over digest is quarantined")
	}
	mu.Lock()
	if counted["hoist_rollouts_total"] != 0 || counted["hoist_rollouts_handed_over_total"] != 1 || len(ended) != 0 {
		t.Errorf("counted %v, records handed on %d: a hand-over is no ending", counted, len(ended))
	}
	mu.Unlock()
	if n := len(eng.updated); n != 1 {
		t.Errorf("%d rollouts in the stopping process, want 1", n)
	}

	// The next hoist.
	eng2 := &stoppable{watching: make(chan struct{})}
	eng2.flakyEngine = flakyEngine{updated: make(chan Target, 4), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d2.String()}}
	_, stop := runUpdater(eng2, rule, store)
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r, _ = store.Get(r.ID); r.Outcome != Running {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.Outcome != Succeeded || r.Reason != RestartNote+" (it was watching)" || r.Restarts != 1 || r.Phase != PhaseEnded {
		t.Fatalf("resumed record: %+v", r)
	}
	if rs, _ := store.Rollouts("service/app", 0); len(rs) != 1 {
		t.Fatalf("%d records, want one", len(rs))
	}
	if q, _ := store.IsQuarantined("service/app", d2.String()); q {
		t.Fatal("the digest is quarantined")
	}
	if strings.Contains(r.Reason, "; ") {
		t.Errorf("reason %q", r.Reason)
	}
}
