package registry

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// errPlainHTTP is a request hoist refused to send without TLS. classify makes it
// permanent: it fails the same way until the configuration changes.
var errPlainHTTP = errors.New("refusing plain HTTP")

// plainHTTPGuard is the bottom of every registry transport. It refuses http:// requests
// (pings, token requests, redirects alike) except to hosts the configuration marks
// insecure and to loopback. ggcr by itself also tries plain HTTP for RFC 1918
// addresses and *.localhost when https fails, which would let anybody on that network
// who can break the TLS connection read the credentials.
type plainHTTPGuard struct {
	inner    http.RoundTripper
	insecure map[string]bool // configured registries[].insecure hosts, host[:port]
	// self is the registry's own host[:port] when plain HTTP to it is allowed (decided
	// once), so its requests skip the check.
	self string
}

// guardFor is the guard of one registry's transport.
func guardFor(inner http.RoundTripper, insecure map[string]bool, registry string) plainHTTPGuard {
	g := plainHTTPGuard{inner: inner, insecure: insecure}
	if g.allowed(registry) {
		g.self = registry
	}
	return g
}

func (g plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && (g.self == "" || req.URL.Host != g.self) && !g.allowed(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w to %s: it is not configured insecure; if it really has no TLS, set insecure: true for it under registries:", errPlainHTTP, req.URL.Host)
	}
	return g.inner.RoundTrip(req)
}

// allowed reports whether plain HTTP to hostport is acceptable: the host of a
// configured insecure registry (any port: its token service may listen on another),
// localhost or a loopback address.
func (g plainHTTPGuard) allowed(hostport string) bool {
	h := hostname(hostport)
	for reg := range g.insecure {
		if strings.EqualFold(hostname(reg), h) {
			return true
		}
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// hostname strips the port from host[:port] (and the brackets from an IPv6 literal).
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}
