package config

import (
	"testing"
	"time"
)

// A registry may be listed for its timeout alone, without credentials; one without
// the key gets none (the default applies).
func TestRegistryTimeout(t *testing.T) {
	cfg, err := Parse("reg.yaml", []byte(`registries:
  - { host: slow.example.com:5000, timeout: 45s }
  - host: registry.example.com
    username: ci
    password: pw
policies:
  - name: p
    match: { services: [x] }
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Registries[0]; r.Timeout == nil || r.Timeout.D() != 45*time.Second || r.Username != "" {
		t.Errorf("registries[0] = %+v; want a 45s timeout and no credentials", r)
	}
	if r := cfg.Registries[1]; r.Timeout != nil {
		t.Errorf("registries[1].timeout = %v; want none (the default)", r.Timeout.D())
	}
}
