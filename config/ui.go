package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// UI configures the web dashboard `serve` mounts beside the API.
type UI struct {
	// Enabled mounts the dashboard; nil means on whenever api.token is set.
	Enabled *bool `yaml:"enabled" json:"enabled,omitempty"`
	// BasePath is the path the dashboard is served under; it starts and ends with "/".
	BasePath string `yaml:"base_path" json:"base_path"`
	// AnonymousRead lets anyone who reaches the listener view the dashboard; acting
	// still needs a login with api.token.
	AnonymousRead bool `yaml:"anonymous_read" json:"anonymous_read,omitempty"`
	// SessionTTL is how long a login lasts.
	SessionTTL Duration `yaml:"session_ttl" json:"session_ttl"`
	// TrustedProxies are the reverse proxies (IP addresses or CIDR prefixes) whose
	// X-Forwarded-For and X-Forwarded-Host the dashboard believes.
	TrustedProxies []string `yaml:"trusted_proxies" json:"trusted_proxies,omitempty"`
}

// Dashboard defaults and bounds.
const (
	DefaultUIBasePath = "/"
	DefaultSessionTTL = 12 * time.Hour
	MinSessionTTL     = 5 * time.Minute
	MaxSessionTTL     = 30 * 24 * time.Hour
)

// UIOn reports whether serve mounts the dashboard: api.token is set and ui.enabled is
// not false.
func (c *Config) UIOn() bool {
	return c.API.Token.IsSet() && (c.UI.Enabled == nil || *c.UI.Enabled)
}

func (u *UI) applyDefaults() {
	if u.BasePath == "" {
		u.BasePath = DefaultUIBasePath
	}
	if u.SessionTTL == 0 {
		u.SessionTTL = Duration(DefaultSessionTTL)
	}
}

// reservedPaths are served by the API, the webhook receiver and the metrics; the
// dashboard may not sit on them.
var reservedPaths = []string{"/api/", "/webhooks/", "/healthz/", "/metrics/"}

func (c *Config) validateUI(v *validator) {
	u := c.UI
	if u.Enabled != nil && *u.Enabled && !c.API.Token.IsSet() {
		v.addf("$.ui.enabled", "the dashboard needs api.token: logging in takes that token; set api.token or leave ui.enabled out")
	}
	if u.AnonymousRead && !c.API.Token.IsSet() {
		v.addf("$.ui.anonymous_read", "the dashboard is only mounted with api.token set; set api.token or leave anonymous_read out")
	}
	if p := basePathProblem(u.BasePath); p != "" {
		v.addf("$.ui.base_path", "base_path %q %s", u.BasePath, p)
	}
	if d := u.SessionTTL.D(); d < MinSessionTTL || d > MaxSessionTTL {
		v.addf("$.ui.session_ttl", "session_ttl %s is out of range; write at least 5m and at most 720h, such as 12h (the default)", d)
	}
	for i, p := range u.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				v.addf("$.ui.trusted_proxies["+strconv.Itoa(i)+"]", "%q is not an IP address or CIDR prefix; write one such as 127.0.0.1 or 10.0.0.0/8", p)
			}
		}
	}
}

// basePathProblem says what is wrong with a dashboard base path, or "".
func basePathProblem(p string) string {
	switch {
	case !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/"):
		return `must start and end with "/", such as / or /hoist/`
	case strings.Contains(p, "//"):
		return `has an empty segment ("//")`
	case strings.ContainsAny(p, "?#%:\\ \t\"'<>"):
		return "may hold only letters, digits and - . _ ~ between slashes"
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return `may not hold "." or ".." segments`
		}
	}
	for _, r := range reservedPaths {
		if strings.HasPrefix(p, r) {
			return "is where " + strings.Trim(r, "/") + " is served; choose another path, such as /hoist/"
		}
	}
	return ""
}
