package webhook

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/registry"
)

// sourcesOf returns a source for each provider the config enables with a secret long
// enough, each with its own rate limiter: how it authenticates a delivery and parses
// its payload. s gives the clock and the log that GAR's OIDC keys need.
func sourcesOf(cfg config.Webhooks, lim config.WebhookLimits, s *Server) []*source {
	var out []*source
	add := func(secret config.Secret, src *source) {
		if len(secret.Value()) < config.MinTokenLen {
			return
		}
		src.limiter = rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)
		out = append(out, src)
	}
	if c := cfg.DockerHub; c != nil {
		host := c.Host
		add(c.Token, &source{name: "dockerhub", pathToken: true, auth: &pathToken{newSecretEq(c.Token.Value())},
			parse: func(b []byte) ([]registry.PushEvent, error) { return parseDockerHubHost(b, host) }})
	}
	if c := cfg.Distribution; c != nil {
		host := c.Host
		add(c.Token, &source{name: "distribution",
			auth:  &headerToken{header: "Authorization", mode: bearer, secret: newSecretEq(c.Token.Value())},
			parse: func(b []byte) ([]registry.PushEvent, error) { return parseDistributionHost(b, host) }})
	}
	if c := cfg.GHCR; c != nil {
		add(c.Secret, &source{name: "ghcr", parse: parseGHCR,
			auth:            &hmacSHA256{key: []byte(c.Secret.Value()), headers: []sigHeader{{"X-Hub-Signature-256", "sha256="}}},
			deliveryHeaders: []string{"X-GitHub-Delivery"}})
	}
	if c := cfg.Quay; c != nil {
		add(c.Token, &source{name: "quay", pathToken: true, auth: &pathToken{newSecretEq(c.Token.Value())}, parse: parseQuay})
	}
	if c := cfg.Harbor; c != nil {
		add(c.Token, &source{name: "harbor", parse: parseHarbor,
			auth: &headerToken{header: "Authorization", mode: verbatim, secret: newSecretEq(c.Token.Value())}})
	}
	if c := cfg.Gitea; c != nil {
		add(c.Secret, &source{name: "gitea", parse: parseGitea,
			auth: &hmacSHA256{key: []byte(c.Secret.Value()), headers: []sigHeader{
				{"X-Forgejo-Signature", ""}, {"X-Gitea-Signature", ""}, {"X-Hub-Signature-256", "sha256="}}},
			deliveryHeaders: []string{"X-Forgejo-Delivery", "X-Gitea-Delivery"}})
	}
	if c := cfg.ACR; c != nil {
		add(c.Token, &source{name: "acr", parse: parseACR, auth: headerAuth(*c)})
	}
	if c := cfg.JFrog; c != nil {
		var a authenticator = &headerToken{header: "X-JFrog-Event-Auth", mode: verbatim, secret: newSecretEq(c.Secret.Value())}
		if c.Signing {
			a = &hmacSHA256{key: []byte(c.Secret.Value()), headers: []sigHeader{{"X-JFrog-Event-Auth", ""}}}
		}
		add(c.Secret, &source{name: "jfrog", parse: parseJFrog, auth: a})
	}
	if c := cfg.GAR; c != nil {
		var a authenticator = &pathToken{newSecretEq(c.Token.Value())}
		if o := c.OIDC; o != nil {
			keys := newKeyFile(o.KeysFile, s.now())
			if keys.err != nil {
				s.log.Error().Err(keys.err).Str("source", "gar").Msg("GAR requests will be refused until the OIDC keys file can be read")
			}
			a = allOf{a, &oidcToken{audience: o.Audience, email: o.Email, keys: keys, now: func() time.Time { return s.now() }}}
		}
		add(c.Token, &source{name: "gar", pathToken: true, auth: a, parse: parseGAR})
	}
	if c := cfg.ECR; c != nil {
		add(c.Token, &source{name: "ecr", parse: parseECR, auth: headerAuth(*c)})
	}
	if c := cfg.Generic; c != nil {
		add(c.Secret, &source{name: "generic", parse: parseGeneric,
			auth:            &hmacSHA256{key: []byte(c.Secret.Value()), headers: []sigHeader{{"X-Hoist-Signature", "sha256="}}},
			deliveryHeaders: []string{"X-Hoist-Delivery"}})
	}
	return out
}
