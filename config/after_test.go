package config

import (
	"testing"
	"time"
)

func TestParseAfterAndGate(t *testing.T) {
	b := []byte(`policies:
  - name: staging
    match: { services: [stg-*] }
  - name: production
    match: { services: [prd-*] }
    when: { after: { policy: staging, soak: 30m }, approve: true }
    gate: { prometheus: { url: "http://prometheus:9090", query: "sum(rate(errors[5m]))", below: 0.05 } }
api: { token: "0123456789abcdef0123" }
`)
	cfg, err := Parse("t.yaml", b, env(fixtureEnv))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policies[1]
	if a := p.When.After; a == nil || a.Policy != "staging" || a.Soak.D() != 30*time.Minute {
		t.Fatalf("after: %+v", a)
	}
	g := p.Gate.Prometheus
	if g == nil || g.URL != "http://prometheus:9090" || g.Below == nil || *g.Below != 0.05 || g.EveryOrDefault() != 30*time.Second {
		t.Fatalf("gate: %+v", g)
	}
}
