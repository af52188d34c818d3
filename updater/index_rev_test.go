package updater_test

import (
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// staticIndex is a backend whose index is always live and holds a fixed snapshot; it
// never rolls anything out. It stands for a corner a real engine cannot be held in:
// two backends' indexes handing out the same revisions at the same moment.
type staticIndex struct {
	kind policy.Kind
	snap updater.Snapshot
}

func (s *staticIndex) Kind() policy.Kind { return s.kind }
func (s *staticIndex) List(context.Context) ([]updater.Workload, error) {
	return s.snap.Workloads, nil
}
func (s *staticIndex) Update(context.Context, []updater.Workload, updater.Target, updater.Plan, updater.Journal, zerolog.Logger) updater.Result {
	return updater.Result{}
}
func (s *staticIndex) Rollback(context.Context, updater.Workload) error { return nil }
func (s *staticIndex) Finish(context.Context, updater.Workload) error   { return nil }
func (s *staticIndex) Follow(context.Context)                           {}
func (s *staticIndex) Current() (updater.Snapshot, bool)                { return s.snap, true }
func (s *staticIndex) Streaming() bool                                  { return true }
func (s *staticIndex) Refresh(context.Context, []string) error          { return nil }

// TestIndexRevisionsPerBackend: the Swarm and container indexes count revisions on
// their own, so both may hand out revision 1; each workload keeps its own entry in
// every listing (a service once went missing behind a container of the same revision).
func TestIndexRevisionsPerBackend(t *testing.T) {
	svc := updater.Workload{Kind: policy.Service, Name: "web", Image: "127.0.0.1:5000/web:1@sha256:" + hex64('a')}
	ctr := updater.Workload{Kind: policy.Container, Name: "cache", Image: "127.0.0.1:5000/cache:1@sha256:" + hex64('b')}
	services := &staticIndex{kind: policy.Service, snap: updater.Snapshot{Workloads: []updater.Workload{svc}, Revs: []uint64{1}, Gen: 1}}
	containers := &staticIndex{kind: policy.Container, snap: updater.Snapshot{Workloads: []updater.Workload{ctr}, Revs: []uint64{1}, Gen: 1}}
	rule, err := policy.NewRule("all", []string{"*"}, nil, nil, policy.Digest, "")
	if err != nil {
		t.Fatal(err)
	}
	store, err := updater.OpenStore(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	u := updater.New(updater.Options{Backends: []updater.Backend{services, containers}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{}, Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	ctx := context.Background()
	for round := 0; round < 3; round++ { // the first listing matches; the next ones reuse entries by revision
		ws, err := updater.ListWorkloads(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, w := range ws {
			got[w.Key()]++
		}
		if len(ws) != 2 || got[svc.Key()] != 1 || got[ctr.Key()] != 1 {
			t.Fatalf("listing %d: %v, want %s and %s once each", round+1, got, svc.Key(), ctr.Key())
		}
		services.snap.Gen++ // a change elsewhere in the service index: entries are reused by revision
	}
}

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
