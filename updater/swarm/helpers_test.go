package swarm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// env is one test's engine, registry and backend.
type env struct {
	t   *testing.T
	c   *client.Client
	b   *Backend
	reg *testenv.Registry
	log zerolog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := testenv.Docker(t)
	t.Parallel()
	e := &env{t: t, c: c, b: New(c), reg: testenv.NewRegistry(t)}
	e.log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).With().Timestamp().Str("test", t.Name()).Logger()
	if !testing.Verbose() {
		e.log = zerolog.Nop()
	}
	return e
}

// push builds and pushes one version of the test app and returns it as a target.
func (e *env) push(tag string, a testenv.App) updater.Target {
	e.t.Helper()
	ref := e.reg.Host + "/app:" + tag
	d := testenv.PushApp(e.t, ref, a)
	tg, err := name.NewTag(ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return updater.Target{Tag: tg, Digest: d}
}

// fastPlan is a plan short enough for tests, every setting written by the policy.
func fastPlan() updater.Plan {
	return updater.Plan{
		Written:     updater.AllFields,
		Parallelism: 1,
		Delay:       time.Second,
		Monitor:     2 * time.Second,
		Watch:       5 * time.Second,
		Timeout:     90 * time.Second,
	}
}

// service creates a replicated service on image and waits until it runs.
func (e *env) service(image string, replicas uint64) updater.Workload {
	e.t.Helper()
	return e.create(image, swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}})
}

// create creates a service on image in mode and waits until it runs.
func (e *env) create(image string, mode swarm.ServiceMode) updater.Workload {
	e.t.Helper()
	return e.createWith(image, mode, nil)
}

// createWith is create with a last say on the spec.
func (e *env) createWith(image string, mode swarm.ServiceMode, edit func(*swarm.ServiceSpec)) updater.Workload {
	e.t.Helper()
	var buf [4]byte
	rand.Read(buf[:])
	svcName := "hoist-test-" + hex.EncodeToString(buf[:])
	ctx := context.Background()
	grace := time.Second
	restartDelay := 500 * time.Millisecond
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: svcName, Labels: map[string]string{"hoist.test": "swarm"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: image, StopGracePeriod: &grace},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &restartDelay},
		},
		Mode: mode,
	}
	if edit != nil {
		edit(&spec)
	}
	res, err := e.c.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		e.t.Fatalf("create service: %v", err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := e.c.ServiceRemove(ctx, res.ID, client.ServiceRemoveOptions{}); err != nil {
			e.t.Logf("remove service %s: %v", svcName, err)
		}
	})
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := e.b.awaitConverged(ctx, res.ID, image, nil, time.Time{}); err != nil {
		e.t.Fatalf("service %s never ran %s: %v", svcName, image, err)
	}
	return updater.Workload{Kind: policy.Service, ID: res.ID, Name: svcName, Image: image}
}

// assertOn checks the service's spec and its running tasks against image.
func (e *env) assertOn(w updater.Workload, image string, replicas int) {
	e.t.Helper()
	ctx := context.Background()
	svc, err := e.b.inspect(ctx, w.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if got := specImage(svc.Spec); got != image {
		e.t.Fatalf("service spec image = %s, want %s", got, image)
	}
	ts, err := e.b.tasks(ctx, w.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	running := 0
	for _, tk := range ts {
		if tk.DesiredState != swarm.TaskStateRunning {
			continue
		}
		if taskImage(tk) != image || tk.Status.State != swarm.TaskStateRunning {
			e.t.Errorf("task %s: image %s state %s, want %s running", tk.ID, taskImage(tk), tk.Status.State, image)
			continue
		}
		running++
	}
	if running != replicas {
		e.t.Errorf("%d tasks running %s, want %d", running, image, replicas)
	}
}

// digestOf returns the digest pinned in a spec image string.
func digestOf(t *testing.T, image string) v1.Hash {
	t.Helper()
	d, err := name.NewDigest(image)
	if err != nil {
		t.Fatalf("image %q is not pinned by digest: %v", image, err)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
