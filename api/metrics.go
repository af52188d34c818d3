package api

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/hoist-dev/hoist/updater"
)

// Metrics holds what hoist measures, in the Prometheus text format: counters, gauges
// and summaries (sum and count). Label values are only hoist's own words (source names,
// outcomes, actions, policy names from the config), never text from a payload.
type Metrics struct {
	mu       sync.Mutex
	counters map[string]float64 // "name{labels}" → value
	gauges   map[string]float64
	sums     map[string]float64 // summaries: "name{labels}" → sum; counts in counts
	counts   map[string]uint64
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{counters: map[string]float64{}, gauges: map[string]float64{}, sums: map[string]float64{}, counts: map[string]uint64{}}
}

// series writes name{labels}; labels are name, value pairs.
func series(name, suffix string, labels []string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(suffix)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
		}
		b.WriteByte('}')
	}
	return b.String()
}

// Inc adds one to a counter.
func (m *Metrics) Inc(name string, labels ...string) {
	if m == nil {
		return
	}
	k := series(name, "", labels)
	m.mu.Lock()
	m.counters[k]++
	m.mu.Unlock()
}

// Set sets a gauge.
func (m *Metrics) Set(name string, v float64, labels ...string) {
	if m == nil {
		return
	}
	k := series(name, "", labels)
	m.mu.Lock()
	m.gauges[k] = v
	m.mu.Unlock()
}

// Observe adds one observation to a summary (its _sum and _count).
func (m *Metrics) Observe(name string, v float64, labels ...string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.sums[series(name, "_sum", labels)] += v
	m.counts[series(name, "_count", labels)]++
	m.mu.Unlock()
}

// Zero declares a counter at 0 unless it already counts: a series exists from start,
// so rate() and absent() read it before the first event.
func (m *Metrics) Zero(name string, labels ...string) {
	if m == nil {
		return
	}
	k := series(name, "", labels)
	m.mu.Lock()
	if _, ok := m.counters[k]; !ok {
		m.counters[k] = 0
	}
	m.mu.Unlock()
}

// Manual actions are counted by action and result.
const (
	manualMetric  = "hoist_manual_actions_total"
	resultDone    = "done"    // the action did what it was asked
	resultRefused = "refused" // nothing was done: bad request, unknown workload, busy, nothing kept
	resultFailed  = "failed"  // tried and failed, or the engine did not answer
)

// Event sources hoist makes itself; webhook sources are read from the routes.
var ownSources = []string{"poll", "api", "approve", "retry", "schedule"}

// webhookReasons are the reasons hoist_webhook_rejected_total counts.
var webhookReasons = []string{"unauthorized", "too_large", "rate_limited", "bad_request", "read_error"}

// declare sets hoist's known series at zero.
func (m *Metrics) declare() {
	for _, kind := range []string{"service", "container"} {
		for _, o := range []updater.Outcome{updater.Succeeded, updater.RolledBack, updater.Failed, updater.Aborted} {
			m.Zero("hoist_rollouts_total", "kind", kind, "outcome", string(o))
		}
	}
	for _, a := range []string{actionRollback, actionFinish, actionApprove, actionRetry} {
		for _, r := range []string{resultDone, resultRefused, resultFailed} {
			m.Zero(manualMetric, "action", a, "result", r)
		}
	}
	for _, src := range ownSources {
		m.declareSource(src, false)
	}
}

func (m *Metrics) declareSource(src string, webhook bool) {
	for _, r := range []string{"accepted", "unwatched"} {
		m.Zero("hoist_events_total", "source", src, "result", r)
	}
	if webhook {
		for _, r := range webhookReasons {
			m.Zero("hoist_webhook_rejected_total", "source", src, "reason", r)
		}
	}
}

// declareWebhooks declares the series of each webhook source mounted on the server:
// the second path segment of every /webhooks/<source> route.
func (m *Metrics) declareWebhooks(routes []*echo.Route) {
	for _, r := range routes {
		rest, ok := strings.CutPrefix(r.Path, "/webhooks/")
		if !ok {
			continue
		}
		src, _, _ := strings.Cut(rest, "/")
		if src != "" && src != "*" && !strings.HasPrefix(src, ":") {
			m.declareSource(src, true)
		}
	}
}

// serve writes every series; routes name the webhook sources, declared at zero.
func (m *Metrics) serve(c echo.Context, routes []*echo.Route) error {
	m.declareWebhooks(routes)
	type line struct{ key, kind, value string }
	m.mu.Lock()
	var lines []line
	for k, v := range m.counters {
		lines = append(lines, line{k, "counter", strconv.FormatFloat(v, 'g', -1, 64)})
	}
	for k, v := range m.gauges {
		lines = append(lines, line{k, "gauge", strconv.FormatFloat(v, 'g', -1, 64)})
	}
	for k, v := range m.sums {
		lines = append(lines, line{k, "summary", strconv.FormatFloat(v, 'g', -1, 64)})
	}
	for k, v := range m.counts {
		lines = append(lines, line{k, "summary", strconv.FormatUint(v, 10)})
	}
	m.mu.Unlock()
	family := func(l line) string {
		n, _, _ := strings.Cut(l.key, "{")
		if l.kind == "summary" {
			n = strings.TrimSuffix(strings.TrimSuffix(n, "_sum"), "_count")
		}
		return n
	}
	sort.Slice(lines, func(i, j int) bool {
		if fi, fj := family(lines[i]), family(lines[j]); fi != fj {
			return fi < fj
		}
		return lines[i].key < lines[j].key
	})
	var b strings.Builder
	typed := map[string]bool{}
	for _, l := range lines {
		if n := family(l); !typed[n] {
			fmt.Fprintf(&b, "# TYPE %s %s\n", n, l.kind)
			typed[n] = true
		}
		fmt.Fprintf(&b, "%s %s\n", l.key, l.value)
	}
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4", []byte(b.String()))
}
