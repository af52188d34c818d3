package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// When hoist stops mid-rollout the service is never left half-way: the rollout
// finishes within the grace period, or is rolled back.
func TestUpdateSurvivesShutdown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grace time.Duration
		want  updater.Outcome
	}{
		{"finishes within grace", 30 * time.Second, updater.Succeeded},
		{"rolls back past grace", time.Second, updater.RolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.b.shutdownGrace = tc.grace
			v1 := e.push("v1", testenv.App{Version: "1"})
			v2 := e.push("v2", testenv.App{Version: "2"})
			w := e.service(v1.Image(), 1)

			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			res := e.b.Update(ctx, []updater.Workload{w}, v2, fastPlan(), e.log)
			t.Logf("%+v", res)
			if res.Outcome != tc.want {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tc.want)
			}
			if tc.want == updater.Succeeded {
				e.assertOn(w, v2.Image(), 1)
			} else {
				e.assertOn(w, v1.Image(), 1)
			}
		})
	}
}

// A stale version is refused with "update out of sequence", which update retries.
func TestOutOfSequence(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	w := e.service(v1.Image(), 0)
	ctx := context.Background()
	stale, err := e.b.inspect(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	bump := stale.Spec
	bump.Labels = map[string]string{"bumped": "1"}
	if err := e.b.send(ctx, stale, client.ServiceUpdateOptions{Version: stale.Version, Spec: bump}); err != nil {
		t.Fatal(err)
	}
	err = e.b.send(ctx, stale, client.ServiceUpdateOptions{Version: stale.Version, Spec: stale.Spec})
	if !outOfSequence(err) {
		t.Fatalf("stale update: %v, want update out of sequence", err)
	}
	tries := 0
	_, sent, err := e.b.update(ctx, w.ID, "", func(s swarm.Service) (swarm.ServiceSpec, bool) {
		tries++
		spec := s.Spec
		if tries == 1 { // another writer gets in between
			other := spec
			other.Labels = map[string]string{"bumped": "2"}
			if err := e.b.send(ctx, s, client.ServiceUpdateOptions{Version: s.Version, Spec: other}); err != nil {
				t.Fatal(err)
			}
		}
		spec.Labels = map[string]string{"bumped": "3"}
		return spec, true
	})
	if err != nil || !sent || tries != 2 {
		t.Fatalf("update: sent %v after %d tries: %v", sent, tries, err)
	}
	got, _ := e.b.inspect(ctx, w.ID)
	if got.Spec.Labels["bumped"] != "3" {
		t.Errorf("labels %v", got.Spec.Labels)
	}
}
