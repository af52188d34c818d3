package api

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hoist-dev/hoist/updater"
)

// Metrics holds what hoist measures in a registry of its own (not the process-wide
// default), with the Go runtime's and the process's standard collectors beside hoist's
// counters, gauges and summaries. Label values are only hoist's own words (source names,
// outcomes, actions, policy names from the config), never text from a payload.
//
// Durations are summaries without quantiles (only _sum and _count), as hoist has always
// exposed them: the series and their type stay what dashboards and alerts already read,
// and an average over a window is what a rollout's or a poll's duration is watched by.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	mu       sync.Mutex
	families map[string]*family
}

// metricKind is a metric type hoist uses.
type metricKind int

const (
	counter metricKind = iota
	gauge
	summary
)

// family is one metric name: its type, label names and the vector that holds its series.
type family struct {
	kind      metricKind
	labels    []string
	counters  *prometheus.CounterVec
	gauges    *prometheus.GaugeVec
	summaries *prometheus.SummaryVec
}

// help describes hoist's metrics; a name not listed here is described by its name.
var help = map[string]string{
	"hoist_events_total":                                 "Tag-moved hints from webhooks, polls, schedules and approvals, by source and result.",
	"hoist_webhook_rejected_total":                       "Webhook deliveries refused, by source and reason.",
	"hoist_rollouts_total":                               "Ended rollouts, by workload kind and outcome.",
	"hoist_rollouts_handed_over_total":                   "Rollouts a stopping hoist left running for the next one, by workload kind.",
	manualMetric:                                         "Manual actions through the API, by action and result.",
	"hoist_rollout_duration_seconds":                     "How long ended rollouts took, by workload kind and outcome.",
	"hoist_poll_cycle_duration_seconds":                  "How long poll cycles took.",
	"hoist_workloads":                                    "Each policy's workloads by state after its last poll.",
	"hoist_event_stream_up":                              "Whether hoist follows the engine's event stream, by workload kind (0: it lists the engine for each event and polls its watches).",
	"hoist_config_last_reload_success":                   "Whether the last configuration reload succeeded (1 at start).",
	"hoist_config_last_reload_success_timestamp_seconds": "When the configuration in force was loaded (start or last successful reload), as a Unix time.",
}

// NewMetrics returns metrics with no hoist series yet (New declares the known ones at
// zero) and the Go and process collectors registered.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Metrics{
		reg: reg,
		// A collector that fails (the process one, where /proc is unreadable) leaves out
		// its own series, not hoist's.
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			EnableOpenMetrics: true,
			ErrorHandling:     promhttp.ContinueOnError,
		}),
		families: map[string]*family{},
	}
}

// Inc adds one to a counter; labels are name, value pairs.
func (m *Metrics) Inc(name string, labels ...string) {
	if f, values := m.family(name, counter, labels); f != nil {
		if c, err := f.counters.GetMetricWithLabelValues(values...); err == nil {
			c.Inc()
		}
	}
}

// Set sets a gauge.
func (m *Metrics) Set(name string, v float64, labels ...string) {
	if f, values := m.family(name, gauge, labels); f != nil {
		if g, err := f.gauges.GetMetricWithLabelValues(values...); err == nil {
			g.Set(v)
		}
	}
}

// Observe adds one observation to a summary (its _sum and _count).
func (m *Metrics) Observe(name string, v float64, labels ...string) {
	if f, values := m.family(name, summary, labels); f != nil {
		if o, err := f.summaries.GetMetricWithLabelValues(values...); err == nil {
			o.Observe(v)
		}
	}
}

// Zero declares a counter at 0 unless it already counts: a series exists from start,
// so rate() and absent() read it before the first event.
func (m *Metrics) Zero(name string, labels ...string) {
	if f, values := m.family(name, counter, labels); f != nil {
		_, _ = f.counters.GetMetricWithLabelValues(values...)
	}
}

// family returns name's family, registering it on first use with the label names of
// this call, and the label values in the family's order. A call that disagrees with the
// family's type or label names, or that names an invalid metric, is not recorded.
func (m *Metrics) family(name string, k metricKind, labels []string) (*family, []string) {
	if m == nil || len(labels)%2 != 0 {
		return nil, nil
	}
	names := make([]string, 0, len(labels)/2)
	values := make([]string, 0, len(labels)/2)
	for i := 0; i < len(labels); i += 2 {
		names = append(names, labels[i])
		values = append(values, labels[i+1])
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.families[name]; ok {
		if f.kind != k || !slices.Equal(f.labels, names) {
			return nil, nil
		}
		return f, values
	}
	h := help[name]
	if h == "" {
		h = name
	}
	f := &family{kind: k, labels: names}
	var c prometheus.Collector
	switch k {
	case counter:
		f.counters = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: h}, names)
		c = f.counters
	case gauge:
		f.gauges = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: h}, names)
		c = f.gauges
	case summary:
		f.summaries = prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: name, Help: h}, names)
		c = f.summaries
	}
	if err := m.reg.Register(c); err != nil {
		return nil, nil
	}
	m.families[name] = f
	return f, values
}

// Manual actions are counted by action and result.
const (
	manualMetric  = "hoist_manual_actions_total"
	resultDone    = "done"    // the action did what it was asked
	resultRefused = "refused" // nothing was done: bad request, unknown workload, busy, nothing kept
	resultFailed  = "failed"  // tried and failed, or the engine did not answer
)

// Event sources hoist makes itself; webhook sources are read from the routes.
var ownSources = []string{"poll", "api", "approve", "retry", "schedule", "ui"}

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

// serve answers a scrape in the format the Accept header asks for (Prometheus text,
// OpenMetrics or protobuf); routes name the webhook sources, declared at zero.
func (m *Metrics) serve(c echo.Context, routes []*echo.Route) error {
	m.declareWebhooks(routes)
	m.handler.ServeHTTP(c.Response(), c.Request())
	return nil
}
