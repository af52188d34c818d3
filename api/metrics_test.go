package api

import (
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs /metrics from a real server with accept as the Accept header.
func scrape(t *testing.T, srv *httptest.Server, accept string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", res.StatusCode)
	}
	return res
}

// series finds the series of family name whose labels are exactly labels (name, value
// pairs), or nil.
func series(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i < len(labels); i += 2 {
			ok = ok && got[labels[i]] == labels[i+1]
		}
		if ok {
			return m
		}
	}
	return nil
}

// The Prometheus text format parses, with hoist's series (those declared at zero, the
// counted, observed and set ones), the Go runtime's and the process's.
func TestMetricsTextParsed(t *testing.T) {
	v := newEnv(t)
	v.metrics.Inc("hoist_rollouts_total", "kind", "service", "outcome", "succeeded")
	v.metrics.Observe("hoist_rollout_duration_seconds", 12.5, "kind", "service", "outcome", "succeeded")
	v.metrics.Observe("hoist_poll_cycle_duration_seconds", 0.25)
	v.metrics.Set("hoist_workloads", 3, "policy", "web", "action", "quarantined")
	srv := httptest.NewServer(v.e)
	defer srv.Close()

	res := scrape(t, srv, "")
	if ct, params, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); ct != "text/plain" || params["version"] != "0.0.4" {
		t.Errorf("content type %q, want text/plain; version=0.0.4", res.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}

	counters := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hoist_rollouts_total", []string{"kind", "service", "outcome", "succeeded"}, 1},
		{"hoist_rollouts_total", []string{"kind", "container", "outcome", "rolled_back"}, 0},
		{"hoist_events_total", []string{"source", "poll", "result", "accepted"}, 0},
		{"hoist_events_total", []string{"source", "schedule", "result", "unwatched"}, 0},
		{manualMetric, []string{"action", "approve", "result", "done"}, 0},
		{manualMetric, []string{"action", "retry", "result", "refused"}, 0},
	}
	for _, c := range counters {
		if f := fams[c.name]; f == nil || f.GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s: not a counter family: %v", c.name, f)
			continue
		}
		m := series(fams, c.name, c.labels...)
		if m == nil || m.GetCounter().GetValue() != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, m, c.want)
		}
	}
	if f := fams["hoist_rollout_duration_seconds"]; f == nil || f.GetType() != dto.MetricType_SUMMARY {
		t.Errorf("hoist_rollout_duration_seconds: not a summary: %v", f)
	} else if m := series(fams, "hoist_rollout_duration_seconds", "kind", "service", "outcome", "succeeded"); m == nil ||
		m.GetSummary().GetSampleCount() != 1 || m.GetSummary().GetSampleSum() != 12.5 || len(m.GetSummary().GetQuantile()) != 0 {
		t.Errorf("hoist_rollout_duration_seconds{service,succeeded} = %v, want count 1, sum 12.5, no quantiles", m)
	}
	if m := series(fams, "hoist_poll_cycle_duration_seconds"); m == nil || m.GetSummary().GetSampleCount() != 1 {
		t.Errorf("hoist_poll_cycle_duration_seconds = %v, want one observation", m)
	}
	if f := fams["hoist_workloads"]; f == nil || f.GetType() != dto.MetricType_GAUGE {
		t.Errorf("hoist_workloads: not a gauge: %v", f)
	} else if m := series(fams, "hoist_workloads", "policy", "web", "action", "quarantined"); m == nil || m.GetGauge().GetValue() != 3 {
		t.Errorf("hoist_workloads{web,quarantined} = %v, want 3", m)
	}

	if m := series(fams, "go_goroutines"); m == nil || m.GetGauge().GetValue() < 1 {
		t.Errorf("go_goroutines = %v, want the Go collector's gauge", m)
	}
	if runtime.GOOS == "linux" {
		if f := fams["process_cpu_seconds_total"]; f == nil || f.GetType() != dto.MetricType_COUNTER {
			t.Errorf("process_cpu_seconds_total = %v, want the process collector's counter", f)
		}
	}
}

// Asked for OpenMetrics, /metrics answers OpenMetrics 1.0.0. Its body is checked as
// text: the Go collector's go_memstats_alloc_bytes gauge and go_memstats_alloc_bytes_total
// counter share one OpenMetrics family name, which expfmt's strict OpenMetrics parser
// refuses and Prometheus's scraper accepts.
func TestMetricsOpenMetrics(t *testing.T) {
	v := newEnv(t)
	v.metrics.Inc("hoist_rollouts_total", "kind", "container", "outcome", "failed")
	srv := httptest.NewServer(v.e)
	defer srv.Close()

	res := scrape(t, srv, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	ct, params, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if ct != "application/openmetrics-text" || params["version"] != "1.0.0" {
		t.Fatalf("content type %q, want application/openmetrics-text; version=1.0.0", res.Header.Get("Content-Type"))
	}
	if f := expfmt.ResponseFormat(res.Header); f.FormatType() != expfmt.TypeOpenMetrics {
		t.Errorf("expfmt reads the answer as %s", f)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	for _, want := range []string{
		"# TYPE hoist_rollouts counter\n", // OpenMetrics names a counter family without _total
		`hoist_rollouts_total{kind="container",outcome="failed"} 1.0` + "\n",
		`hoist_events_total{result="accepted",source="poll"} 0.0` + "\n",
		"# TYPE hoist_manual_actions counter\n",
		"\ngo_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("OpenMetrics answer lacks %q:\n%s", want, body)
		}
	}
	if !strings.HasSuffix(body, "# EOF\n") {
		t.Errorf("OpenMetrics answer does not end with # EOF")
	}
}

// hoist's series live in a registry of their own, not in the process-wide default; a
// call that disagrees with a metric's labels or type is dropped, not a panic.
func TestMetricsPrivateRegistry(t *testing.T) {
	m := NewMetrics()
	m.declare()
	m.Inc("hoist_rollouts_total", "kind", "service") // wrong label names
	m.Set("hoist_rollouts_total", 5, "kind", "service", "outcome", "succeeded")
	m.Inc("hoist_rollouts_total", "kind", "service", "outcome") // odd pairs
	m.Inc("hoist_events_total", "source", "poll", "result", "\xff")
	var nilMetrics *Metrics
	nilMetrics.Inc("hoist_rollouts_total", "kind", "service", "outcome", "succeeded")

	def, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range def {
		if f.GetName() == "hoist_rollouts_total" {
			t.Error("hoist_rollouts_total is in the default registry")
		}
	}
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		got[f.GetName()] = f
	}
	if s := series(got, "hoist_rollouts_total", "kind", "service", "outcome", "succeeded"); s == nil || s.GetCounter().GetValue() != 0 {
		t.Errorf("hoist_rollouts_total{service,succeeded} = %v, want 0 after calls that do not fit", s)
	}
}
