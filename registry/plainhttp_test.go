package registry

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// dialTo returns a base transport that connects every request to addr, whatever host
// the URL names, so a test registry on 127.0.0.1 can stand in for one on a private
// network address.
func dialTo(addr string) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return t
}

// TestNoPlainHTTPFallback: ggcr treats RFC 1918 addresses (and *.localhost) as
// "maybe http" and races an http ping against https. A registry on 10.x that fails
// TLS (here: it only speaks http, as a downgrading attacker would) must not be
// reached over plain HTTP unless it is configured insecure; credentials would travel
// in the clear.
func TestNoPlainHTTPFallback(t *testing.T) {
	tr := newTestRegistry(t, func(tr *testRegistry) { tr.auth = "basic" })
	tr.push(t, "app:v1", tinyImage(t))
	for _, reg := range []string{"10.9.8.7:5000", "192.168.1.2:5000", "registry.localhost:5000"} {
		before := tr.ping.Load() + tr.head.Load()
		c := newTestClient(Options{Transport: dialTo(tr.host),
			Credentials: []Credential{{Host: reg, Username: "user", Password: "pass"}}})
		ref, err := c.ParseReference(reg + "/app:v1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Resolve(t.Context(), ref); err == nil {
			t.Errorf("%s: resolved over plain HTTP without insecure: true", reg)
		} else if IsRetryable(err) {
			t.Errorf("%s: refusing plain HTTP is not retryable: %v", reg, err)
		}
		if n := tr.ping.Load() + tr.head.Load() - before; n != 0 {
			t.Errorf("%s: %d plain-HTTP requests reached the registry (%s)", reg, n, tr.counts())
		}
	}

	// Configured insecure: plain HTTP is what the operator asked for.
	c := newTestClient(Options{Transport: dialTo(tr.host),
		Credentials: []Credential{{Host: "10.9.8.7:5000", Username: "user", Password: "pass", Insecure: true}}})
	ref, err := c.ParseReference("10.9.8.7:5000/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(t.Context(), ref); err != nil {
		t.Fatalf("insecure registry: %v", err)
	}
	// So is a registry given by a name without the insecure option.
	if _, err := c.Resolve(t.Context(), name.MustParseReference("10.9.8.7:5000/app:v1")); err != nil {
		t.Fatalf("insecure registry, reference parsed elsewhere: %v", err)
	}
}
