package swarm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/updater"
)

// refuseInspect passes requests to the engine but refuses the next n inspections of
// one service, as an engine whose manager is not back yet does.
type refuseInspect struct {
	base    http.RoundTripper
	id      atomic.Pointer[string]
	n       atomic.Int32
	refused atomic.Int32
}

func (r *refuseInspect) RoundTrip(req *http.Request) (*http.Response, error) {
	if id := r.id.Load(); id != nil && req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/services/"+*id) && r.n.Add(-1) >= 0 {
		r.refused.Add(1)
		return nil, errors.New("test: the engine's manager is not back yet")
	}
	return r.base.RoundTrip(req)
}

// TestRollbackAsksAgainWhileTheEngineRefuses: hoist judges an update failed (a late
// crash after Swarm's "completed") while the engine refuses to answer for the service;
// the rollback asks again until it answers, and the service ends on its old image,
// rolled back — not failed on the new one.
func TestRollbackAsksAgainWhileTheEngineRefuses(t *testing.T) {
	e := newEnv(t)
	tr := &refuseInspect{}
	e.b = New(testenv.DockerThrough(t, func(base http.RoundTripper) http.RoundTripper { tr.base = base; return tr }))
	v1 := e.push("v1", testenv.App{Version: "1", NoHealthcheck: true})
	v2 := e.push("v2", testenv.App{Version: "2", Mode: testenv.LateCrash, CrashAfter: 12 * time.Second, NoHealthcheck: true})
	w := e.service(v1.Image(), 1)
	tr.id.Store(&w.ID)

	p := fastPlan()
	p.Watch = 30 * time.Second
	j := func(ph updater.Phase, _ ...string) {
		if ph == updater.PhaseRollingBack {
			tr.n.Store(3) // the next three inspections of the service are refused
		}
	}
	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, p, j, e.log)
	t.Logf("%s: %s", res.Outcome, res.Reason)
	if res.Outcome != updater.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled_back", res.Outcome, res.Reason)
	}
	if n := tr.refused.Load(); n != 3 {
		t.Errorf("%d inspections refused during the rollback, want 3", n)
	}
	e.assertOn(w, v1.Image(), 1)
}
