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
	if r := p.When.After.Rule(); r == nil || r.Policy != "staging" || r.Soak != 30*time.Minute {
		t.Fatalf("after rule: %+v", r)
	}
	if r := p.Gate.Rule(); r == nil || r.Below != 0.05 || r.Every != 30*time.Second || r.Query != "sum(rate(errors[5m]))" {
		t.Fatalf("gate rule: %+v", r)
	}
	if cfg.Policies[0].When.After.Rule() != nil || cfg.Policies[0].Gate.Rule() != nil {
		t.Fatal("a policy without after or gate has rules for them")
	}
	g := p.Gate.Prometheus
	if g == nil || g.URL != "http://prometheus:9090" || g.Below == nil || *g.Below != 0.05 || g.EveryOrDefault() != 30*time.Second {
		t.Fatalf("gate: %+v", g)
	}
}
