package config

import (
	"slices"
	"strings"
	"testing"
)

func TestUITrustedProxies(t *testing.T) {
	const rest = "api: { token: 0123456789abcdef0123 }\npolicies:\n  - name: p\n    match: { services: [x] }\n"
	cfg, err := Parse("x.yaml", []byte("ui: { trusted_proxies: [127.0.0.1, '10.0.0.0/8', '::1'] }\n"+rest), env(nil))
	if err != nil || !slices.Equal(cfg.UI.TrustedProxies, []string{"127.0.0.1", "10.0.0.0/8", "::1"}) {
		t.Fatalf("%+v, %v", cfg, err)
	}
	_, err = Parse("x.yaml", []byte("ui: { trusted_proxies: [127.0.0.1, proxy.example.com] }\n"+rest), env(nil))
	if err == nil || !strings.Contains(err.Error(), `ui.trusted_proxies[1]: "proxy.example.com" is not an IP address or CIDR prefix`) {
		t.Errorf("a host name: %v", err)
	}
}
