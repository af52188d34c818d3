package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hoist-dev/hoist/registry"
)

// Parse errors. Both answer 400; they are logged by kind, never with their text,
// which may quote the payload.
var (
	errMalformed = errors.New("malformed payload")
	errBadName   = errors.New("bad repository or tag")
)

// decode reads body into v, refusing first a body that lists more than MaxEvents
// entries anywhere, so that what it decodes into stays within a few times its size.
func decode(body []byte, v any) error {
	if err := checkEntries(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", errMalformed, err)
	}
	return nil
}

// newEvent builds the event for host/path:tag, checking that the host is a registry
// host and that path and tag are valid. It never returns an event whose Repo does not
// parse back.
func newEvent(host, path, tag, delivery string) (registry.PushEvent, error) {
	if !qualifiedHost(host) {
		return registry.PushEvent{}, fmt.Errorf("%w: registry host %q is not a host name with a dot or port (or localhost)", errBadName, host)
	}
	if !validTag(tag) {
		return registry.PushEvent{}, fmt.Errorf("%w: tag %q", errBadName, tag)
	}
	if !repoPath.MatchString(path) || len(host)+1+len(path) > 255 {
		return registry.PushEvent{}, fmt.Errorf("%w: repository %q is not lowercase components of letters and digits joined by '.', '_', '__' or '-', separated by '/' (at most 255 characters with the host)", errBadName, path)
	}
	repo, err := name.NewRepository(host + "/" + path)
	if err != nil {
		return registry.PushEvent{}, fmt.Errorf("%w: %v", errBadName, err)
	}
	return registry.PushEvent{Repo: repo, Tag: tag, DeliveryID: delivery}, nil
}

// repoPath is the distribution spec's repository name grammar. ggcr only checks the
// characters, so "a/../b", "a//b", "/a" or ".." would otherwise pass and become
// request paths.
var repoPath = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// registryHost is a DNS name or IPv4 address, or a bracketed IPv6 address, with an
// optional port.
var registryHost = regexp.MustCompile(`^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// qualifiedHost reports whether h is a registry host ggcr will read as one rather than
// as the first path component: a well-formed host[:port] with a dot or a port, or
// localhost.
func qualifiedHost(h string) bool {
	if h == "localhost" {
		return true
	}
	if len(h) > 253+6 || !registryHost.MatchString(h) || !strings.ContainsAny(h, ".:") {
		return false
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		if p, err := strconv.Atoi(h[i+1:]); err != nil || p < 1 || p > 65535 {
			return false
		}
	}
	return true
}

// validTag is the OCI tag grammar: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func validTag(t string) bool {
	if t == "" || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// untagged reports a reference that names no tag: empty, or a digest where a tag
// would be (Harbor tag-less artifacts, Gitea digest-named versions).
func untagged(t string) bool {
	return t == "" || strings.Contains(t, ":")
}

// urlHost returns the host[:port] of an absolute URL, or "".
func urlHost(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}

// splitTagged splits host/path:tag, as in GAR's tag field and the generic image.
// ok is false when there is no explicit tag or the reference has a digest.
func splitTagged(ref string) (host, path, tag string, ok bool) {
	if strings.Contains(ref, "@") {
		return "", "", "", false
	}
	slash := strings.LastIndexByte(ref, '/')
	colon := strings.LastIndexByte(ref, ':')
	if colon < 0 || colon < slash {
		return "", "", "", false
	}
	repo, tag := ref[:colon], ref[colon+1:]
	host, path, found := strings.Cut(repo, "/")
	if !found {
		return "", "", "", false
	}
	return host, path, tag, true
}
