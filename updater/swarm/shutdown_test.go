package swarm

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// When hoist stops mid-rollout the service is never rolled back for it: the rollout
// ends on its merits within the grace period, or is handed over to the next hoist
// while Swarm carries on by itself.
func TestUpdateSurvivesShutdown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grace time.Duration
		want  updater.Outcome
	}{
		{"finishes within grace", 30 * time.Second, updater.Succeeded},
		{"hands over past grace", time.Second, updater.HandedOver},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.b.shutdownGrace = tc.grace
			v1 := e.push("v1", testenv.App{Version: "1"})
			v2 := e.push("v2", testenv.App{Version: "2"})
			w := e.service(v1.Image(), 1)

			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			var phases []updater.Phase
			start := time.Now()
			res := e.b.Update(ctx, []updater.Workload{w}, v2, fastPlan(), func(p updater.Phase, _ ...string) { phases = append(phases, p) }, e.log)
			t.Logf("%+v after %s, phases %v", res, time.Since(start).Round(time.Millisecond), phases)
			if res.Outcome != tc.want {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tc.want)
			}
			if slices.Contains(phases, updater.PhaseRollingBack) {
				t.Errorf("phases %v: hoist stopping must not roll back", phases)
			}
			if tc.want == updater.HandedOver {
				if took := time.Since(start); took > time.Second+tc.grace+5*time.Second {
					t.Errorf("handed over after %s, grace %s", took, tc.grace)
				}
				// Swarm finishes the update by itself.
				if err := e.b.awaitConverged(context.Background(), w.ID, v2.Image(), nil, time.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				svc, err := e.b.inspect(context.Background(), w.ID)
				if err != nil {
					t.Fatal(err)
				}
				if st := svc.UpdateStatus; st != nil && strings.HasPrefix(string(st.State), "rollback") {
					t.Errorf("Swarm shows %s: the update was rolled back", st.State)
				}
			}
			e.assertOn(w, v2.Image(), 1)
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

// cancelOnUpdate is a transport that cancels hoist's context the moment the engine has
// accepted a service update, and reports the request as cut short when its context was
// cancelled: what a shutdown racing the request looks like from the client.
type cancelOnUpdate struct {
	base   http.RoundTripper
	cancel context.CancelFunc
	hit    atomic.Bool
}

func (c *cancelOnUpdate) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/update") || !strings.Contains(req.URL.Path, "/services/") {
		return resp, err
	}
	if c.hit.CompareAndSwap(false, true) {
		c.cancel()
		time.Sleep(50 * time.Millisecond) // let the cancellation reach the request
	}
	if cerr := req.Context().Err(); cerr != nil {
		resp.Body.Close()
		return nil, cerr
	}
	return resp, nil
}

// A shutdown that lands while the update request is in flight must not leave the
// service updating unwatched: Swarm accepted it, so hoist follows it to its end.
func TestUpdateShutdownDuringRequest(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &cancelOnUpdate{cancel: cancel}
	c := testenv.DockerThrough(t, func(base http.RoundTripper) http.RoundTripper { tr.base = base; return tr })
	b := New(c)
	b.shutdownGrace = 60 * time.Second

	res := b.Update(ctx, []updater.Workload{w}, v2, fastPlan(), nil, e.log)
	t.Logf("%+v", res)
	if !tr.hit.Load() {
		t.Fatal("the update request was never seen")
	}
	if res.Outcome != updater.Succeeded {
		t.Fatalf("outcome %s (%s), want succeeded: Swarm took the update, hoist must follow it", res.Outcome, res.Reason)
	}
	e.assertOn(w, v2.Image(), 1)
}
