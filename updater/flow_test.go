package updater_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
	hswarm "github.com/hoist-dev/hoist/updater/swarm"
)

// countingBackend is the real Swarm backend, with its listings counted. It keeps only
// the methods of updater.Backend: no index, every listing goes to the engine (the
// fallback while the event stream is down; index_test.go tests the index).
type countingBackend struct {
	updater.Backend
	lists  atomic.Int64
	listed atomic.Int64 // workloads the engine returned, over every listing
}

func (c *countingBackend) List(ctx context.Context) ([]updater.Workload, error) {
	c.lists.Add(1)
	ws, err := c.Backend.List(ctx)
	c.listed.Add(int64(len(ws)))
	return ws, err
}

// costs is what a stretch of a test cost: engine listings, workloads they returned
// (the engine is shared: other services are listed too), policy matches.
type costs struct{ lists, listed, matches int64 }

func (c *countingBackend) costs(u *updater.Updater) costs {
	return costs{c.lists.Load(), c.listed.Load(), updater.Matches(u)}
}

// TestOneListingPerEvent: a push event for a tag two services follow lists the engine
// once and matches each service against the policies once, through both rollouts; an
// event that finds nothing moved costs the same.
func TestOneListingPerEvent(t *testing.T) {
	c := testenv.Docker(t)
	t.Parallel()
	reg := testenv.NewRegistry(t)
	ref := reg.Host + "/app:stable"
	d1 := testenv.PushApp(t, ref, testenv.App{Version: "1"})
	prefix := "hoist-flow-" + randomHex()
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
	b := &countingBackend{Backend: hswarm.New(c)}
	plan := updater.Plan{Written: updater.AllFields, Parallelism: 1, Monitor: time.Second, Watch: 3 * time.Second, Timeout: 90 * time.Second}
	u := updater.New(updater.Options{Backends: []updater.Backend{b}, Policies: policy.NewSet(rule),
		Plans: map[string]updater.Plan{"p": plan}, Resolver: registry.New(registry.Options{}), Store: store, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { u.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	waitFor(t, 30*time.Second, "Run's first listing", func() bool { return b.lists.Load() >= 1 && updater.Matches(u) >= 1 })

	// Cycle 1: the tag moves; both services roll out.
	d2 := testenv.PushApp(t, ref, testenv.App{Version: "2"})
	tag, _ := name.NewTag(ref)
	ev := registry.PushEvent{Repo: tag.Context(), Tag: "stable", Source: "distribution"}
	before := b.costs(u)
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
	expectCosts(t, "an event that rolls two services out", before, b.costs(u))

	// Cycle 2: an event of hoist's own for the same tag finds both up to date.
	before = b.costs(u)
	ev.Source = "api"
	u.Enqueue(ev)
	waitFor(t, 30*time.Second, "the check of the second event", func() bool { return b.lists.Load() > before.lists })
	settle(u)
	expectCosts(t, "an event that finds nothing moved", before, b.costs(u))
}

// expectCosts wants one listing between before and after, and one match per workload
// it returned.
func expectCosts(t *testing.T, what string, before, after costs) {
	t.Helper()
	lists, listed, matches := after.lists-before.lists, after.listed-before.listed, after.matches-before.matches
	t.Logf("%s: %d engine listing(s) of %d workloads, %d policy match(es)", what, lists, listed, matches)
	if lists != 1 || matches != listed {
		t.Errorf("%s: %d listings and %d matches of %d listed workloads, want 1 listing and 1 match per workload", what, lists, matches, listed)
	}
}

// settle waits until u has no job running and nothing queued: a status read of every
// workload goes through the same listing only when nothing else asked for one.
func settle(u *updater.Updater) {
	deadline := time.Now().Add(10 * time.Second)
	for !updater.Idle(u) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randomHex() string {
	var buf [4]byte
	rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}

// createService creates a one-replica service on image and waits until a task runs.
func createService(t *testing.T, c *client.Client, svcName, image string) updater.Workload {
	t.Helper()
	ctx := context.Background()
	grace, one := time.Second, uint64(1)
	spec := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: svcName, Labels: map[string]string{"hoist.test": "flow"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image, StopGracePeriod: &grace}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
	res, err := c.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.ServiceRemove(ctx, res.ID, client.ServiceRemoveOptions{}); err != nil {
			t.Logf("remove service %s: %v", svcName, err)
		}
	})
	f := make(client.Filters).Add("service", res.ID).Add("desired-state", "running")
	waitFor(t, 60*time.Second, svcName+" running", func() bool {
		tl, err := c.TaskList(ctx, client.TaskListOptions{Filters: f})
		if err != nil {
			return false
		}
		for _, tk := range tl.Items {
			if tk.Status.State == swarm.TaskStateRunning {
				return true
			}
		}
		return false
	})
	return updater.Workload{Kind: policy.Service, ID: res.ID, Name: svcName, Image: image}
}
