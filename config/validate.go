package config

import (
	"fmt"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
)

type problem struct{ path, msg string }

// validator collects problems by YAML path; Parse turns paths into lines.
type validator struct{ problems []problem }

func (v *validator) addf(path, format string, args ...any) {
	v.problems = append(v.problems, problem{path, fmt.Sprintf(format, clipArgs(args)...)})
}

func (c *Config) validate(v *validator) {
	c.validatePrintable(v)
	if p := listenProblem(c.Listen); p != "" {
		v.addf("$.listen", "listen %q %s", c.Listen, p)
	}
	if h := c.Docker.Host; h != "" {
		if p := dockerHostProblem(h); p != "" {
			v.addf("$.docker.host", "docker host %q %s", h, p)
		}
	}
	if d := c.Poll.Interval.D(); d != 0 && d < MinPollInterval {
		v.addf("$.poll.interval", "interval %s is too short; use at least %s (more often than once a second would hammer the registries), or 0 to turn polling off", d, MinPollInterval)
	}
	seenReg := map[string]int{}
	for i, r := range c.Registries {
		p := pathf("$.registries[%d]", i)
		switch {
		case r.Host == "":
			v.addf(p+".host", "registry host is required, for example registry.example.com or localhost:5000")
		case strings.Contains(r.Host, "/"):
			v.addf(p+".host", "registry host %q must be a host[:port], without scheme or path", r.Host)
		}
		if j, dup := seenReg[r.Host]; dup && r.Host != "" {
			v.addf(p+".host", "registry %q is configured twice (also registries[%d])", r.Host, j)
		}
		seenReg[r.Host] = i
		if (r.Username == "") != (r.Password == "") {
			v.addf(p, "registry %q needs both username and password, or neither", r.Host)
		}
		if t := r.Timeout; t != nil && (t.D() <= 0 || t.D() > MaxRegistryTimeout) {
			v.addf(p+".timeout", "registry %q: timeout %s is out of range; write more than 0 and at most 10m, such as 30s (without it: 20s)", r.Host, t.D())
		}
	}
	if t := c.API.Token; t.IsSet() && len(t) < MinTokenLen {
		v.addf("$.api.token", "token is %d characters; use at least %d random characters (openssl rand -hex 16), or leave api out to keep the API off", len(t), MinTokenLen)
	}
	c.validateUI(v)
	if c.Poll.Concurrency < 0 {
		v.addf("$.poll.concurrency", "concurrency must be 1 or more")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.addf("$.log.level", "log level %q: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		v.addf("$.log.format", "log format %q: use auto, json or console", c.Log.Format)
	}
	c.Webhooks.validate(v)
	for i := range c.Notify {
		c.Notify[i].validate(v, pathf("$.notify[%d]", i))
	}
	if len(c.Policies) == 0 {
		v.addf("$.policies", "no policies: add at least one under policies:, or hoist has nothing to update")
	}
	seen := map[string]int{}
	for i := range c.Policies {
		c.Policies[i].validate(v, pathf("$.policies[%d]", i), seen, i)
		if c.Policies[i].When.Approve && !c.API.Token.IsSet() {
			v.addf(pathf("$.policies[%d].when.approve", i), "approve needs api.token: approvals come through the API (hoist approve), so without it every update would wait forever")
		}
	}
	validateAfter(v, c.Policies)
}

func (p *Policy) validate(v *validator, at string, seen map[string]int, i int) {
	switch {
	case p.Name == "":
		v.addf(at+".name", "policy name is required; workloads opt in with the label hoist.policy=<name>")
	case strings.ContainsAny(p.Name, " \t/"):
		v.addf(at+".name", "policy name %q may not contain spaces or slashes", p.Name)
	}
	if j, dup := seen[p.Name]; dup && p.Name != "" {
		v.addf(at+".name", "policy name %q is used twice (also policies[%d])", p.Name, j)
	}
	seen[p.Name] = i
	if p.Interval != nil && p.Interval.D() != 0 && p.Interval.D() < MinPollInterval {
		v.addf(at+".interval", "interval %s is too short; use at least %s (more often than once a second would hammer the registries)", p.Interval.D(), MinPollInterval)
	}
	for j, g := range p.Match.Services {
		if _, err := path.Match(g, ""); err != nil {
			v.addf(pathf("%s.match.services[%d]", at, j), "bad glob %q: %v", g, err)
		}
	}
	for j, g := range p.Match.Containers {
		if _, err := path.Match(g, ""); err != nil {
			v.addf(pathf("%s.match.containers[%d]", at, j), "bad glob %q: %v", g, err)
		}
	}
	if p.Tags != nil {
		if p.Update != "tags" {
			v.addf(at+".tags", "tags is only used with update: tags (this policy has update: %s)", p.Update)
		}
		p.Tags.validate(v, at+".tags")
	}
	switch p.Update {
	case "digest", "none", "tags":
		if p.Semver != "" {
			v.addf(at+".semver", "semver is only used with update: semver (this policy has update: %s)", p.Update)
		}
		if p.Update == "tags" && p.Tags == nil {
			v.addf(at+".update", `update: tags needs tags:, for example tags: { filter: { pattern: '^build-(?P<n>[0-9]+)$', extract: '$n' }, order: numerical }`)
		}
	case "semver":
		if p.Semver == "" {
			v.addf(at+".update", `update: semver needs a range, for example semver: "~1.4" or ">=2.0.0 <3"`)
		} else if _, err := semver.NewConstraint(p.Semver); err != nil {
			v.addf(at+".semver", "semver range %q does not parse: %v", p.Semver, err)
		}
	default:
		v.addf(at+".update", "update %q: use digest (same tag, new digest), semver, tags or none", p.Update)
	}
	r := p.Rollout
	if r.Parallelism < 0 {
		v.addf(at+".rollout.parallelism", "parallelism must be 1 or more (0 means 1)")
	}
	switch r.Order {
	case "start-first", "stop-first":
	default:
		v.addf(at+".rollout.order", "order %q: use start-first or stop-first", r.Order)
	}
	if r.MaxFailureRatio < 0 || r.MaxFailureRatio > 1 {
		v.addf(at+".rollout.max_failure_ratio", "max_failure_ratio %v must be between 0 and 1", r.MaxFailureRatio)
	}
	validateComposeFile(v, at+".rollout.compose_file", r.ComposeFile)
	r.Canary.validate(v, at+".rollout.canary")
	p.When.validate(v, at+".when")
	p.Watchtower.validate(v, at+".watchtower")
	p.Verify.validate(v, at+".verify")
	p.Gate.validate(v, at+".gate")
	h := p.Health
	if h.Timeout.D() < h.Watch.D()+r.Monitor.D() {
		v.addf(at+".health.timeout", "timeout %s is shorter than monitor + watch (%s); raise it", h.Timeout.D(), h.Watch.D()+r.Monitor.D())
	}
	if h.HTTP != nil {
		if h.HTTP.Port < 1 || h.HTTP.Port > 65535 {
			v.addf(at+".health.http.port", "port %d is not a TCP port (1-65535)", h.HTTP.Port)
		}
		if !strings.HasPrefix(h.HTTP.Path, "/") {
			v.addf(at+".health.http.path", "path %q must start with /", h.HTTP.Path)
		}
	}
}
