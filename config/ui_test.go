package config

import (
	"strings"
	"testing"
	"time"
)

func TestUI(t *testing.T) {
	const policies = "policies:\n  - name: p\n    match: { services: [x] }\n"
	const api = "api: { token: 0123456789abcdef0123 }\n"
	cfg, err := Parse("x.yaml", []byte(api+policies), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.UIOn() || cfg.UI.BasePath != "/" || cfg.UI.SessionTTL.D() != 12*time.Hour || cfg.UI.AnonymousRead {
		t.Errorf("defaults: on %v, %+v", cfg.UIOn(), cfg.UI)
	}
	if cfg, err = Parse("x.yaml", []byte(policies), env(nil)); err != nil || cfg.UIOn() {
		t.Errorf("without api.token: on %v, %v; want off", cfg != nil && cfg.UIOn(), err)
	}
	cfg, err = Parse("x.yaml", []byte(api+"ui: { enabled: false }\n"+policies), env(nil))
	if err != nil || cfg.UIOn() {
		t.Errorf("enabled: false: %v", err)
	}
	cfg, err = Parse("x.yaml", []byte(api+"ui: { base_path: /hoist/, anonymous_read: true, session_ttl: 1h }\n"+policies), env(nil))
	if err != nil || cfg.UI.BasePath != "/hoist/" || !cfg.UI.AnonymousRead || cfg.UI.SessionTTL.D() != time.Hour {
		t.Errorf("set: %+v, %v", cfg, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"ui: { base_path: hoist/ }\n" + api, `x.yaml:1: ui.base_path: base_path "hoist/" must start and end with "/"`},
		{"ui: { base_path: /hoist }\n" + api, `ui.base_path: base_path "/hoist" must start and end`},
		{"ui: { base_path: /a//b/ }\n" + api, `ui.base_path: base_path "/a//b/" has an empty segment`},
		{"ui: { base_path: /a/../b/ }\n" + api, `"." or ".." segments`},
		{"ui: { base_path: '/a?b/' }\n" + api, "may hold only letters"},
		{"ui: { base_path: /api/ }\n" + api, "is where api is served"},
		{"ui: { session_ttl: 1m }\n" + api, "x.yaml:1: ui.session_ttl: session_ttl 1m0s is out of range"},
		{"ui: { session_ttl: 9000h }\n" + api, "ui.session_ttl: session_ttl 9000h0m0s is out of range"},
		{"ui: { enabled: true }\n", "x.yaml:1: ui.enabled: the dashboard needs api.token"},
		{"ui: { anonymous_read: true }\n", "x.yaml:1: ui.anonymous_read: the dashboard is only mounted with api.token"},
		{"ui: { colour: red }\n" + api, "colour"},
	} {
		_, err := Parse("x.yaml", []byte(tc.yaml+policies), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
