package config

import (
	"errors"
	"strings"
	"testing"
)

const policyTail = `
policies:
  - name: web
    match: { services: ["web"] }
`

func parseWebhooks(t *testing.T, yml string) (*Config, Problems) {
	t.Helper()
	cfg, err := Parse("hoist.yaml", []byte(yml+policyTail), func(string) string { return "" })
	if err == nil {
		return cfg, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse error is %T, not Problems: %v", err, err)
	}
	return nil, ps
}

func TestWebhooksAllSources(t *testing.T) {
	const tok = "0123456789abcdef0123456789abcdef"
	cfg, ps := parseWebhooks(t, `
webhooks:
  dockerhub: { token: `+tok+` }
  distribution: { token: `+tok+`, host: registry.example.com:5000 }
  ghcr: { secret: `+tok+` }
  quay: { token: `+tok+` }
  harbor: { token: "Basic `+tok+`" }
  gitea: { secret: `+tok+` }
  acr: { token: `+tok+`, header: X-Hoist-Token }
  jfrog: { secret: `+tok+`, signing: true }
  gar:
    token: `+tok+`
    oidc: { audience: https://hoist.example.com, email: push@p.iam.gserviceaccount.com, keys_file: /etc/hoist/google.jwks }
  ecr: { token: `+tok+` }
  generic: { secret: `+tok+` }
  limits: { max_body: 512KiB, rate: 5, burst: 10 }
`)
	if ps != nil {
		t.Fatalf("problems:\n%v", ps)
	}
	w := cfg.Webhooks
	if w.Distribution.Host != "registry.example.com:5000" || w.Harbor.Token.Value() != "Basic "+tok {
		t.Errorf("distribution/harbor: %+v %+v", w.Distribution, w.Harbor)
	}
	if w.ACR.HeaderName() != "X-Hoist-Token" || w.ECR.HeaderName() != "Authorization" {
		t.Errorf("header names: %q %q", w.ACR.HeaderName(), w.ECR.HeaderName())
	}
	if !w.JFrog.Signing || w.GAR.OIDC == nil || w.GAR.OIDC.KeysFile != "/etc/hoist/google.jwks" {
		t.Errorf("jfrog/gar: %+v %+v", w.JFrog, w.GAR)
	}
	if l := w.Limits; l.MaxBody != 512<<10 || l.Rate != 5 || l.Burst != 10 {
		t.Errorf("limits: %+v", l)
	}
	if strings.Contains(w.GHCR.Secret.String(), tok) {
		t.Error("secret printed")
	}
}

func TestWebhooksProblems(t *testing.T) {
	cases := []struct {
		name, yml string
		want      []string // path: substring
	}{
		{"empty token", "webhooks:\n  dockerhub: { token: \"\" }\n",
			[]string{"webhooks.dockerhub.token: token is empty: this source will not be mounted", "openssl rand -hex 16"}},
		{"short secret", "webhooks:\n  ghcr: { secret: abc }\n",
			[]string{"webhooks.ghcr.secret: secret is 3 characters, so this source will not be mounted"}},
		{"empty section", "webhooks:\n  quay: {}\n", []string{"webhooks.quay.token: token is empty"}},
		{"unknown key", "webhooks:\n  jfrog: { secret: 0123456789abcdef, signng: true }\n",
			[]string{`webhooks.jfrog.signng: unknown key "signng"; did you mean "signing"?`}},
		{"unknown source", "webhooks:\n  gitlab: { token: 0123456789abcdef }\n", []string{`unknown key "gitlab"`}},
		{"distribution host", "webhooks:\n  distribution: { token: 0123456789abcdef, host: https://reg.example.com/ }\n",
			[]string{"webhooks.distribution.host: host \"https://reg.example.com/\" must be a registry host[:port]"}},
		{"bad header", "webhooks:\n  acr: { token: 0123456789abcdef, header: \"X Token\" }\n",
			[]string{"webhooks.acr.header: header \"X Token\" is not a valid HTTP header name"}},
		{"oidc incomplete", "webhooks:\n  gar:\n    token: 0123456789abcdef\n    oidc: { audience: x }\n",
			[]string{"webhooks.gar.oidc.email: email is required", "webhooks.gar.oidc.keys_file: keys_file is required"}},
		{"limits", "webhooks:\n  limits: { max_body: 10, rate: -1, burst: -2 }\n",
			[]string{"webhooks.limits.max_body: max_body 10 bytes is too small", "webhooks.limits.rate: rate must be", "webhooks.limits.burst: burst must be"}},
		{"limits too big", "webhooks:\n  limits: { max_body: 1GiB }\n", []string{"webhooks.limits.max_body: max_body must be between"}},
		{"bad size", "webhooks:\n  limits: { max_body: lots }\n", []string{`size "lots"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ps := parseWebhooks(t, c.yml)
			if ps == nil {
				t.Fatal("no problems")
			}
			got := ps.Error()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, p := range ps {
				if strings.Contains(p.Path, "webhooks") && p.Line == 0 {
					t.Errorf("problem without a line: %v", p)
				}
			}
		})
	}
}

func TestWebhookLimitsDefaults(t *testing.T) {
	l := WebhookLimits{}.WithDefaults()
	if l.MaxBody != 1<<20 || l.Rate != 20 || l.Burst != DefaultWebhookBurst {
		t.Errorf("defaults: %+v", l)
	}
	l = WebhookLimits{MaxBody: 2048, Rate: 1, Burst: 1}.WithDefaults()
	if l.MaxBody != 2048 || l.Rate != 1 || l.Burst != 1 {
		t.Errorf("kept: %+v", l)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "1MiB": 1 << 20, "512KiB": 512 << 10, "1MB": 1e6, "64kB": 64000, "10 B": 10} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "1TiB", "99999999999GiB"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
