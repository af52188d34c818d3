package updater

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
)

// stagedEngine holds services whose updates always succeed: what the promotion logic
// reads of the engine (which workload runs which digest) without a real engine, whose
// tests are the end-to-end ones (cmd/hoist/e2e_promote_test.go). The registry and the
// store are real.
type stagedEngine struct {
	mu      sync.Mutex
	ws      []Workload
	updated chan string   // the names of the services updated
	hold    chan struct{} // when set, an update's end waits for it (the engine runs the target meanwhile)
}

func (e *stagedEngine) Kind() policy.Kind { return policy.Service }

func (e *stagedEngine) List(ctx context.Context) ([]Workload, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Workload{}, e.ws...), nil
}

func (e *stagedEngine) Update(ctx context.Context, ws []Workload, t Target, p Plan, j Journal, log zerolog.Logger) Result {
	e.mu.Lock()
	for i := range e.ws {
		for _, w := range ws {
			if e.ws[i].Name == w.Name {
				e.ws[i].Image, e.ws[i].Digest = t.Image(), t.Digest.String()
			}
		}
	}
	hold := e.hold
	e.mu.Unlock()
	for _, w := range ws {
		e.updated <- w.Name
	}
	if hold != nil {
		<-hold
	}
	return Result{Outcome: Succeeded}
}

func (e *stagedEngine) Rollback(ctx context.Context, w Workload) error { return nil }
func (e *stagedEngine) Finish(ctx context.Context, w Workload) error   { return nil }

// stagedUpdater runs an updater over services stg and prd of one repository:tag with
// policies staging and production, production after staging (prod's when and gate).
func stagedUpdater(t *testing.T, when policy.When, gate *policy.Gate) (*Updater, *stagedEngine, string) {
	t.Helper()
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	eng := &stagedEngine{updated: make(chan string, 4), ws: []Workload{
		{Kind: policy.Service, ID: "s", Name: "stg", Image: ref + "@" + d1.String()},
		{Kind: policy.Service, ID: "p", Name: "prd", Image: ref + "@" + d1.String()},
	}}
	st, err := OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stg, _ := policy.NewRule("staging", []string{"stg"}, nil, nil, policy.Digest, "")
	prd, _ := policy.NewRule("production", []string{"prd"}, nil, nil, policy.Digest, "")
	prd.When, prd.Gate = when, gate
	u := New(Options{Backends: []Backend{eng}, Policies: policy.NewSet(stg, prd), Plans: map[string]Plan{},
		Resolver: registry.New(registry.Options{}), Store: st, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return u, eng, ref
}

// statusOf waits until want accepts prd's status.
func statusOf(t *testing.T, u *Updater, what string, want func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sts, err := u.Workloads(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range sts {
			if st.Workload.Name == "prd" && want(st) {
				return st
			}
			if st.Workload.Name == "prd" && time.Now().After(deadline) {
				t.Fatalf("production: %s (%s); want %s", st.Action, st.Reason, what)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// push pushes a new version and tells the updater.
func pushStaged(t *testing.T, u *Updater, ref, version string) string {
	t.Helper()
	d := testenv.PushApp(t, ref, testenv.App{Version: version})
	tag, _ := name.NewTag(ref)
	u.Enqueue(registry.PushEvent{Repo: tag.Context(), Tag: "stable", Source: "distribution"})
	return d.String()
}

// With approve, approval is offered only once the soak passed: before, production
// waits for staging.
func TestPromotionThenApproval(t *testing.T) {
	after := &policy.After{Policy: "staging", Soak: 700 * time.Millisecond}
	u, eng, ref := stagedUpdater(t, policy.When{After: after, Approve: true}, nil)
	d2 := pushStaged(t, u, ref, "2")
	if got := <-eng.updated; got != "stg" {
		t.Fatalf("updated %s first, want stg", got)
	}
	// While staging's rollout runs, its workload does not count yet; once it succeeded,
	// the soak runs.
	st := statusOf(t, u, "awaiting-promotion, soaking", func(st Status) bool {
		return st.Action == AwaitingPromotion && strings.Contains(st.Reason, "(soak ")
	})
	if !strings.HasPrefix(st.Reason, "waiting for staging (soak ") || !strings.HasSuffix(st.Target, d2) {
		t.Fatalf("production: %q → %s", st.Reason, st.Target)
	}
	st = statusOf(t, u, "awaiting-approval", func(st Status) bool { return st.Action == AwaitingApproval })
	if !strings.Contains(st.Reason, "hoist approve service/prd --digest "+d2) {
		t.Fatalf("after the soak: %q", st.Reason)
	}
	select {
	case got := <-eng.updated:
		t.Fatalf("%s updated without an approval", got)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := u.Approve(context.Background(), "service/prd", d2); err != nil {
		t.Fatal(err)
	}
	if got := <-eng.updated; got != "prd" {
		t.Fatalf("updated %s after the approval, want prd", got)
	}
}

// A gate that cannot be asked holds the promotion past the soak and says why.
func TestPromotionGateUnreachable(t *testing.T) {
	after := &policy.After{Policy: "staging", Soak: 300 * time.Millisecond}
	gate := &policy.Gate{URL: "http://127.0.0.1:1", Query: "up", Below: 1, Every: 100 * time.Millisecond}
	u, eng, ref := stagedUpdater(t, policy.When{After: after}, gate)
	u.UseGates(func(g policy.Gate) (Gate, error) { return refusing{}, nil })
	pushStaged(t, u, ref, "2")
	<-eng.updated
	st := statusOf(t, u, "held by the gate", func(st Status) bool {
		return st.Action == AwaitingPromotion && strings.Contains(st.Reason, "the metric gate could not be asked: ") && strings.HasSuffix(st.Reason, "connection refused")
	})
	select {
	case got := <-eng.updated:
		t.Fatalf("%s updated while its gate could not be asked (%s)", got, st.Reason)
	case <-time.After(500 * time.Millisecond):
	}
}

// refusing is a gate whose server does not answer.
type refusing struct{}

func (refusing) Check(ctx context.Context) (bool, string, error) {
	return false, "", errRefused
}

var errRefused = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

// A staging workload whose rollout is under way (its service already runs the target)
// does not count until the rollout succeeded: a soak shorter than staging's watch must
// not let production go first.
func TestPromotionWaitsForStagingRollout(t *testing.T) {
	after := &policy.After{Policy: "staging", Soak: time.Millisecond}
	u, eng, ref := stagedUpdater(t, policy.When{After: after}, nil)
	eng.mu.Lock()
	eng.hold = make(chan struct{})
	eng.mu.Unlock()
	pushStaged(t, u, ref, "2")
	if got := <-eng.updated; got != "stg" {
		t.Fatalf("updated %s first, want stg", got)
	}
	st := statusOf(t, u, "waiting for staging's rollout", func(st Status) bool { return st.Action == AwaitingPromotion })
	if !strings.Contains(st.Reason, "0 of 1 workloads run it") {
		t.Fatalf("production while staging's rollout runs: %q", st.Reason)
	}
	select {
	case got := <-eng.updated:
		t.Fatalf("%s updated while staging's rollout ran", got)
	case <-time.After(300 * time.Millisecond):
	}
	close(eng.hold)
	if got := <-eng.updated; got != "prd" {
		t.Fatalf("updated %s after staging's success, want prd", got)
	}
}
