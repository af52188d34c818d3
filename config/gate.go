package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/policy"
)

// Gate is a policy's metric gate: a query that must stay below a threshold while a
// digest soaks before this policy's workloads get it (when.after), and during a
// canary's hold.
type Gate struct {
	Prometheus *PrometheusGate `yaml:"prometheus" json:"prometheus,omitempty"`
}

// PrometheusGate asks a Prometheus-compatible server's query API (/api/v1/query).
type PrometheusGate struct {
	// URL is the server's base URL (http://prometheus:9090).
	URL string `yaml:"url" json:"url"`
	// Query is a PromQL expression that yields an instant vector or a scalar: an error
	// ratio, say. Every sample must be below Below; no sample at all passes.
	Query string `yaml:"query" json:"query"`
	// Below is the threshold (required).
	Below *float64 `yaml:"below" json:"below"`
	// Every is how often the query is asked (default 30s).
	Every Duration `yaml:"every" json:"every"`
}

// DefaultGateEvery is how often a gate's query is asked when every is not set.
const DefaultGateEvery = Duration(30 * time.Second)

// EveryOrDefault is Every, or DefaultGateEvery when unset.
func (g *PrometheusGate) EveryOrDefault() time.Duration {
	if g.Every > 0 {
		return g.Every.D()
	}
	return DefaultGateEvery.D()
}

func (g *Gate) validate(v *validator, at string) {
	if g == nil {
		return
	}
	p := g.Prometheus
	if p == nil {
		v.addf(at+".prometheus", "gate needs prometheus: { url, query, below }")
		return
	}
	at += ".prometheus"
	if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf(at+".url", "url %q: write the server's base URL, like http://prometheus:9090", p.URL)
	}
	if strings.TrimSpace(p.Query) == "" {
		v.addf(at+".query", "query is required: a PromQL expression whose samples must stay below below (an error ratio, say)")
	}
	if p.Below == nil {
		v.addf(at+".below", "below is required: the threshold every sample of the query must stay under")
	}
	if p.Every != 0 && p.Every.D() < time.Second {
		v.addf(at+".every", "every %s is too short; ask at most once a second", p.Every.D())
	}
}

// Rule is the policy package's gate (nil when g sets none).
func (g *Gate) Rule() *policy.Gate {
	if g == nil || g.Prometheus == nil {
		return nil
	}
	p := g.Prometheus
	out := &policy.Gate{URL: p.URL, Query: p.Query, Every: p.EveryOrDefault()}
	if p.Below != nil {
		out.Below = *p.Below
	}
	return out
}
