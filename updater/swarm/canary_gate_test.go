package swarm

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/updater"
)

// promServer answers Prometheus's instant query API with one sample of *value.
func promServer(t *testing.T, value *atomic.Value) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"web"},"value":[%d,"%s"]}]}}`,
			time.Now().Unix(), value.Load().(string))
	}))
	t.Cleanup(s.Close)
	return s
}

// The error ratio crosses the threshold during the hold: the canary fails, its reason
// names the query, and the service's tasks never moved.
func TestCanaryMetricGateCrossed(t *testing.T) {
	e := newEnv(t)
	v1 := e.push("v1", testenv.App{Version: "1"})
	v2 := e.push("v2", testenv.App{Version: "2"})
	w := e.service(v1.Image(), 3)
	before := e.fleet(w)

	var ratio atomic.Value
	ratio.Store("0.001")
	prom := promServer(t, &ratio)
	const query = `sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`
	plan := canaryPlan(30 * time.Second)
	plan.Gate = &policy.Gate{URL: prom.URL, Query: query, Below: 0.01, Every: time.Second}

	var marks []string
	j := func(p updater.Phase, notes ...string) {
		marks = append(marks, string(p)+" "+strings.Join(notes, "; "))
		if p == updater.PhaseCanary {
			time.AfterFunc(8*time.Second, func() { ratio.Store("0.2") }) // errors climb during the hold
		}
	}
	start := time.Now()
	res := e.b.Update(context.Background(), []updater.Workload{w}, v2, plan, j, e.log)
	t.Logf("%s after %s: %s", res.Outcome, time.Since(start).Round(time.Second), res.Reason)
	if res.Outcome != updater.RolledBack || !strings.Contains(res.Reason, "metric gate crossed: query `"+query+"` = 0.2, not below 0.01") {
		t.Fatalf("outcome %s (%s), want rolled back naming the query", res.Outcome, res.Reason)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("took %s: the crossing was not seen within the hold", time.Since(start))
	}
	e.assertUntouched(w, before, v1.Image())
	e.assertNoCanary(w)
}
