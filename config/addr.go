package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// advice is a message part built with its values already cut; validator.addf leaves
// it whole.
type advice string

// listenProblem says what is wrong with a listen address, or "".
func listenProblem(addr string) advice {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not host:port; write for example 127.0.0.1:8080 or :8080"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return advice(fmt.Sprintf("has port %q; a TCP port is a number from 1 to 65535", clipped(port)))
	}
	if host != "" && !validHost(host) {
		return advice(fmt.Sprintf("has host %q, which is neither an IP address nor a host name; leave it empty (:8080) for every interface", clipped(host)))
	}
	return ""
}

// validHost reports whether h is an IP address or a DNS host name. A name that looks
// like an IPv4 address but is not one (999.999.999.999) is refused.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 253 || strings.Trim(h, "0123456789.") == "" {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// dockerHostProblem says what is wrong with a Docker host URL, or "". The Docker
// client hoist uses dials unix and npipe sockets itself and anything else as TCP; ssh://
// needs the docker CLI's connection helper, which hoist does not have.
func dockerHostProblem(h string) advice {
	scheme, rest, ok := strings.Cut(h, "://")
	if !ok {
		return "has no scheme; write unix:///var/run/docker.sock or tcp://host:2376"
	}
	switch scheme {
	case "unix", "npipe":
		if rest == "" {
			return "names no socket; write for example unix:///var/run/docker.sock"
		}
	case "tcp", "http", "https":
		u, err := url.Parse(h)
		if err != nil || u.Host == "" {
			return "names no host; write for example tcp://docker.example.com:2376"
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return advice(fmt.Sprintf("has port %q; a TCP port is a number from 1 to 65535", clipped(p)))
			}
		}
	case "ssh":
		return "uses ssh://, which needs the docker CLI's connection helper; forward the socket (ssh -L /tmp/docker.sock:/var/run/docker.sock host) and use unix:///tmp/docker.sock"
	default:
		return advice(fmt.Sprintf("has scheme %q; use unix, npipe, tcp, http or https", clipped(scheme)))
	}
	return ""
}
