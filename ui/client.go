package ui

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// proxies are the reverse proxies whose forwarding headers are believed
// (ui.trusted_proxies). With none, the socket's peer is the client and
// X-Forwarded-For and X-Forwarded-Host are ignored: anyone can send them.
type proxies []netip.Prefix

// parseProxies reads addresses and CIDR prefixes ("10.0.0.0/8", "::1").
func parseProxies(list []string) (proxies, error) {
	var out proxies
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &net.ParseError{Type: "IP address or CIDR prefix", Text: s}
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (p proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the address the connection came from.
func peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// fromProxy reports whether r came through a trusted proxy.
func (p proxies) fromProxy(r *http.Request) bool {
	a, ok := peer(r)
	return ok && p.trusts(a)
}

// client is the address r came from as the trusted proxies tell it: the peer, or,
// when the peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one (read from the right: each proxy appends the address it saw).
func (p proxies) client(r *http.Request) netip.Addr {
	a, ok := peer(r)
	if !ok || !p.trusts(a) {
		return a
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return a // a hop that does not parse: trust nothing to its left
		}
		a = h.Unmap()
		if !p.trusts(a) {
			return a
		}
	}
	return a
}

// clientKey is what login failures are counted under: the client's address, or its
// /64 for IPv6, where one host commonly holds the whole prefix.
func (p proxies) clientKey(r *http.Request) string {
	a := p.client(r)
	if !a.IsValid() {
		return r.RemoteAddr
	}
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
