package updater

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// resumable is a backend that takes over one rollout. The real backends' Resume runs
// against the engine in their own packages and in cmd/hoist's end-to-end tests; this
// checks what the updater does around it.
type resumable struct {
	flakyEngine
	resumed   chan Rollout
	release   chan struct{}
	evidence  []Rollout
	knownHook func(known func(string) bool)
}

func (r *resumable) Resume(ctx context.Context, w Workload, rec Rollout, t Target, p Plan, j Journal, log zerolog.Logger) Result {
	j.Enter(PhaseRollingBack)
	r.resumed <- rec
	<-r.release
	return Result{Outcome: RolledBack, Reason: "task x exited (exit 4)"}
}

func (r *resumable) Unfinished(ctx context.Context, ws []Workload, known func(string) bool, plans func(Workload) (Plan, bool)) []Rollout {
	if r.knownHook != nil {
		r.knownHook(known)
	}
	var out []Rollout
	for _, e := range r.evidence {
		if !known(e.Workload) {
			out = append(out, e)
		}
	}
	return out
}

// A record left running is resumed before any event for its workload is served; it
// ends with the true outcome, says hoist restarted, counts the restart and quarantines
// the digest, which a push of the same digest then does not roll out.
func TestResumeUnfinishedRecord(t *testing.T) {
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	dir := t.TempDir()
	store, err := OpenStore(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	started := time.Now().Add(-time.Minute)
	id, err := store.Begin(Rollout{Workload: "service/app", From: ref + "@" + d1.String(), To: ref + "@" + d2.String(),
		Trigger: "poll", Started: started, Phase: PhaseSubmitted, PhaseAt: started, Plan: &Plan{Watch: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	store.SetPhase(id, PhaseWatching, started)

	rule, _ := policy.NewRule("p", []string{"app"}, nil, nil, policy.Digest, "")
	eng := &resumable{resumed: make(chan Rollout, 1), release: make(chan struct{})}
	eng.flakyEngine = flakyEngine{updated: make(chan Target, 1), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
	u, stop := runUpdater(eng, rule, store)
	defer stop()

	rec := <-eng.resumed
	if rec.ID != id || rec.Restarts != 1 || rec.Phase != PhaseWatching {
		t.Fatalf("resumed %+v", rec)
	}
	if got, _ := store.Get(id); got.Phase != PhaseRollingBack || got.Outcome != Running {
		t.Fatalf("phase while resuming: %+v", got)
	}
	// A push of the same digest meanwhile waits for the resumed rollout.
	u.Enqueue(registry.PushEvent{Repo: mustTag(t, ref).Context(), Tag: "stable", Source: "distribution"})
	select {
	case tg := <-eng.updated:
		t.Fatalf("rolled out %s while the resumed rollout held the workload", tg.Digest)
	case <-time.After(500 * time.Millisecond):
	}
	close(eng.release)
	deadline := time.Now().Add(10 * time.Second)
	var got Rollout
	for time.Now().Before(deadline) {
		if got, _ = store.Get(id); got.Outcome != Running {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Outcome != RolledBack || !strings.HasPrefix(got.Reason, RestartNote+" (it was watching); task x exited") ||
		got.Restarts != 1 || got.Phase != PhaseEnded || !got.Started.Equal(started) {
		t.Fatalf("ended record: %+v", got)
	}
	if q, _ := store.IsQuarantined("service/app", d2.String()); !q {
		t.Fatal("the digest rolled back from is not quarantined")
	}
	select {
	case tg := <-eng.updated:
		t.Fatalf("rolled out the quarantined digest %s again", tg.Digest)
	case <-time.After(time.Second):
	}
}

// A store that lost everything: what the backend reads from the engine is recorded,
// resumed and quarantined; a digest the store already quarantined is not taken up.
func TestResumeEngineEvidence(t *testing.T) {
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
	eng := &resumable{resumed: make(chan Rollout, 1), release: make(chan struct{})}
	close(eng.release)
	eng.flakyEngine = flakyEngine{updated: make(chan Target, 1), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
	eng.evidence = []Rollout{{Workload: "service/app", From: ref + "@" + d1.String(), To: ref + "@" + d2.String(), Phase: PhaseRollingBack, Trigger: TriggerEngine}}
	_, stop := runUpdater(eng, rule, store)
	<-eng.resumed
	stop()
	rs, _ := store.Rollouts("service/app", 10)
	if len(rs) != 1 || rs[0].Outcome != RolledBack || rs[0].Restarts != 1 ||
		!strings.HasPrefix(rs[0].Reason, RestartNote+"; its store had no record of it: the engine showed it rolled back; ") {
		t.Fatalf("records: %+v", rs)
	}
	if q, _ := store.IsQuarantined("service/app", d2.String()); !q {
		t.Fatal("not quarantined")
	}

	// Started again on the same store: the evidence is already known (a rollout that
	// ended: the engine shows its traces for a while).
	if _, err := store.ClearQuarantine("service/app"); err != nil {
		t.Fatal(err)
	}
	_, stop = runUpdater(eng, rule, store)
	time.Sleep(300 * time.Millisecond)
	stop()
	if rs, _ := store.Rollouts("service/app", 10); len(rs) != 1 {
		t.Fatalf("the same evidence was taken up twice: %+v", rs)
	}
}

func mustTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tg, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// groupEngine lists two containers that roll out together (one policy, one image).
type groupEngine struct {
	resumable
	ws []Workload
}

func (g *groupEngine) Kind() policy.Kind { return policy.Container }

func (g *groupEngine) List(ctx context.Context) ([]Workload, error) { return g.ws, nil }

// Every record of a group a killed hoist left is resumed, not only the first (they
// share one job).
func TestResumeGroup(t *testing.T) {
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var ids []uint64
	for _, n := range []string{"web-1", "web-2"} {
		id, err := store.Begin(Rollout{Workload: "container/" + n, From: ref + "@" + d1.String(), To: ref + "@" + d2.String(),
			Trigger: "poll", Started: time.Now(), Phase: PhaseWatching})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rule, _ := policy.NewRule("p", nil, []string{"web-*"}, nil, policy.Digest, "")
	eng := &groupEngine{ws: []Workload{
		{Kind: policy.Container, ID: "a", Name: "web-1", Image: ref + "@" + d1.String()},
		{Kind: policy.Container, ID: "b", Name: "web-2", Image: ref + "@" + d1.String()},
	}}
	eng.resumed, eng.release, eng.updated = make(chan Rollout, 2), make(chan struct{}), make(chan Target, 4)
	close(eng.release)
	_, stop := runUpdater(eng, rule, store)
	defer stop()
	for range ids {
		select {
		case <-eng.resumed:
		case <-time.After(5 * time.Second):
			t.Fatal("a record of the group was not resumed")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, id := range ids {
		for {
			if r, _ := store.Get(id); r.Outcome == RolledBack {
				break
			}
			if time.Now().After(deadline) {
				r, _ := store.Get(id)
				t.Fatalf("record %d: %+v", id, r)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// A manual action cut short is ended aborted, and its workload is left to the
// backend's recovery from the engine (Unfinished sees it as unknown to the store).
func TestResumeManualAction(t *testing.T) {
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	store, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	id, err := store.Begin(Rollout{Workload: "service/app", From: ref + "@" + d1.String(), To: "(previous)", Trigger: "manual rollback", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rule, _ := policy.NewRule("p", []string{"app"}, nil, nil, policy.Digest, "")
	eng := &resumable{resumed: make(chan Rollout, 1), release: make(chan struct{})}
	close(eng.release)
	eng.flakyEngine = flakyEngine{updated: make(chan Target, 1), w: Workload{Kind: policy.Service, ID: "x", Name: "app", Image: ref + "@" + d1.String()}}
	asked := make(chan bool, 1)
	eng.knownHook = func(known func(string) bool) { asked <- known("service/app") }
	_, stop := runUpdater(eng, rule, store)
	defer stop()
	if known := <-asked; known {
		t.Error("the manual action's workload was kept from the backend's recovery")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, _ := store.Get(id)
		if r.Outcome == Aborted && strings.HasPrefix(r.Reason, RestartNote) && strings.Contains(r.Reason, "manual rollback was cut short") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record: %+v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case r := <-eng.resumed:
		t.Fatalf("a manual action was handed to the backend's Resume: %+v", r)
	default:
	}
}

// runUpdater runs an Updater of one backend and the policy rule ("p") on store until
// stop is called.
func runUpdater(b Backend, rule *policy.Rule, store *Store) (*Updater, func()) {
	u := New(Options{Backends: []Backend{b}, Policies: policy.NewSet(rule), Plans: map[string]Plan{"p": {}},
		Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	return u, func() { cancel(); <-done }
}
