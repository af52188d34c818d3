package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// acceptManifests is the Accept header of a digest check: every manifest and index
// media type, the list go-containerregistry's Head sends. One slice shared by every
// request (len = cap, so an Add by a transport below copies it).
var acceptManifests = []string{strings.Join([]string{
	string(types.DockerManifestSchema1), string(types.DockerManifestSchema1Signed),
	string(types.DockerManifestSchema2), string(types.OCIManifestSchema1),
	string(types.DockerManifestList), string(types.OCIImageIndex),
}, ",")}[:1:1]

// head sends the one HEAD of a digest check for ref through the entry's pinged,
// authenticated transport and reads the descriptor from the answer's headers, as
// go-containerregistry's Puller.Head does, minus what a HEAD per reference need not
// rebuild: the registry's scheme (ggcr tests its address against private ranges for
// every request), the URL parsed back from a string, the Accept list, the fetcher per
// repository, and http.Client's copy of the request (redirects are followed only when
// the registry sends one, through a client with ggcr's SSRF rule).
func (h *host) head(ctx context.Context, e *entry, ref name.Reference) (v1.Descriptor, error) {
	repo := ref.Context()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead,
		h.scheme+"://"+h.name+"/v2/"+repo.RepositoryStr()+"/manifests/"+ref.Identifier(), nil)
	if err != nil {
		return v1.Descriptor{}, err
	}
	req.Header["Accept"] = acceptManifests
	resp, err := e.t.RoundTrip(req)
	if err != nil {
		return v1.Descriptor{}, &url.Error{Op: "Head", URL: req.URL.String(), Err: err}
	}
	if isRedirect(resp.StatusCode) {
		if resp, err = follow(ctx, e.t, req, resp); err != nil {
			return v1.Descriptor{}, err
		}
	}
	defer resp.Body.Close()
	u := req.URL
	if resp.Request != nil {
		u = resp.Request.URL // where a redirect led
	}
	return descriptorOf(resp, ref, u)
}

// descriptorOf reads a digest check's answer: status, media type, size and digest
// (which must be the one asked for when ref is a digest).
func descriptorOf(resp *http.Response, ref name.Reference, u *url.URL) (v1.Descriptor, error) {
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return v1.Descriptor{}, err
	}
	mt := resp.Header.Get("Content-Type")
	if mt == "" {
		return v1.Descriptor{}, fmt.Errorf("HEAD %s: response did not include Content-Type header", u)
	}
	if resp.ContentLength == -1 {
		return v1.Descriptor{}, fmt.Errorf("HEAD %s: response did not include Content-Length header", u)
	}
	dh := resp.Header.Get("Docker-Content-Digest")
	if dh == "" {
		return v1.Descriptor{}, fmt.Errorf("HEAD %s: response did not include Docker-Content-Digest header", u)
	}
	d, err := v1.NewHash(dh)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("HEAD %s: %w", u, err)
	}
	if isDigest(ref) && d.String() != ref.Identifier() {
		return v1.Descriptor{}, fmt.Errorf("manifest digest: %q does not match requested digest: %q for %q", d, ref.Identifier(), ref)
	}
	return v1.Descriptor{Digest: d, Size: resp.ContentLength, MediaType: types.MediaType(mt)}, nil
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// follow sends the HEAD again where the registry's redirect points, as http.Client
// would (a HEAD stays a HEAD), refusing a redirect to another host with a private,
// loopback or link-local address (go-containerregistry's SSRF rule) at every hop.
func follow(ctx context.Context, t http.RoundTripper, req *http.Request, resp *http.Response) (*http.Response, error) {
	loc, err := resp.Location()
	resp.Body.Close()
	if err != nil {
		return nil, &url.Error{Op: "Head", URL: req.URL.String(), Err: fmt.Errorf("redirect without a usable Location: %w", err)}
	}
	next, err := http.NewRequestWithContext(ctx, http.MethodHead, loc.String(), nil)
	if err != nil {
		return nil, err
	}
	next.Header["Accept"] = acceptManifests
	if err := checkRedirect(next, []*http.Request{req}); err != nil {
		return nil, &url.Error{Op: "Head", URL: loc.String(), Err: err}
	}
	c := &http.Client{Transport: t, CheckRedirect: checkRedirect}
	return c.Do(next)
}

// checkRedirect is go-containerregistry's rule for redirects (checkRedirectSSRF) with
// http.Client's limit of 10 hops.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after 10 redirects")
	}
	from, to := via[0].URL.Hostname(), req.URL.Hostname()
	if to == from {
		return nil
	}
	a, ok := parseAddr(to)
	if ok && (a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsPrivate() || a.IsUnspecified()) {
		return fmt.Errorf("SSRF protection: redirect from %q to private/link-local host %q denied", from, to)
	}
	return nil
}

// parseAddr reads host as the address the dialer would connect to: without an IPv6
// zone, an IPv4-mapped IPv6 address as IPv4, and the legacy IPv4 forms a resolver
// takes ("127.1", "0x7f.0.0.1", "2130706433"). A name is not an address.
func parseAddr(host string) (netip.Addr, bool) {
	host, _, _ = strings.Cut(host, "%")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone("").Unmap(), true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts[:len(parts)-1] {
		v, err := strconv.ParseUint(p, 0, 8)
		if err != nil {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	last, err := strconv.ParseUint(parts[len(parts)-1], 0, 32-8*(len(parts)-1))
	if err != nil {
		return netip.Addr{}, false
	}
	for i := len(parts) - 1; i < 4; i++ {
		b[i] = byte(last >> (8 * (3 - i)))
	}
	return netip.AddrFrom4(b), true
}
