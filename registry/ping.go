package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// pingMemo remembers a registry's answer to the ping (GET /v2/) so that building a
// transport per repository scope with transport.NewWithContext costs a token request
// only, not a ping each. It also learns how long the registry's tokens live from the
// token endpoint's expires_in.
type pingMemo struct {
	inner http.RoundTripper
	ttl   time.Duration

	mu     sync.Mutex
	calls  map[string]*pingCall // by "scheme://host"
	realms map[string]bool      // token endpoints of remembered Bearer challenges
	life   time.Duration        // token lifetime the registry last announced
	bearer atomic.Bool          // some remembered ping was a Bearer challenge
}

type pingCall struct {
	done   chan struct{}
	at     time.Time
	status int
	header http.Header
	body   []byte
	ok     bool // a 200 or 401 worth remembering
}

var errHTTPSSkipped = errors.New("https ping skipped: the registry answers on plain http")

func newPingMemo(inner http.RoundTripper, ttl time.Duration) *pingMemo {
	return &pingMemo{inner: inner, ttl: ttl, calls: map[string]*pingCall{}, realms: map[string]bool{}}
}

func (m *pingMemo) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || (req.URL.Path != "/v2/" && req.URL.Path != "/v2") {
		if m.bearer.Load() && m.isTokenRequest(req) {
			return m.token(req)
		}
		return m.inner.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	m.mu.Lock()
	if req.URL.Scheme == "https" && m.fresh(m.calls["http://"+req.URL.Host]) {
		// ggcr probes https first for localhost and insecure registries; once the
		// registry has answered on http, do not knock on https for every scope.
		m.mu.Unlock()
		return nil, errHTTPSSkipped
	}
	c := m.calls[key]
	if c != nil && (c.status == 0 || m.fresh(c)) {
		m.mu.Unlock()
		select {
		case <-c.done:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		if c.ok {
			return c.replay(req), nil
		}
		return m.inner.RoundTrip(req) // the first ping failed: try on our own
	}
	c = &pingCall{done: make(chan struct{})}
	m.calls[key] = c
	m.mu.Unlock()

	resp, err := m.inner.RoundTrip(req)
	m.mu.Lock()
	defer func() { m.mu.Unlock(); close(c.done) }()
	c.at = time.Now()
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) {
		c.status = -1
		delete(m.calls, key)
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		c.status = -1
		delete(m.calls, key)
		return nil, err
	}
	c.status, c.header, c.body, c.ok = resp.StatusCode, resp.Header.Clone(), body, true
	if r := realm(c.header.Get("WWW-Authenticate")); c.status == http.StatusUnauthorized && r != "" {
		m.realms[r] = true
		m.bearer.Store(true)
	}
	return c.replay(req), nil
}

// fresh reports whether c is a remembered answer still within the TTL. Caller holds mu.
func (m *pingMemo) fresh(c *pingCall) bool {
	return c != nil && c.ok && time.Since(c.at) < m.ttl
}

func (c *pingCall) replay(req *http.Request) *http.Response {
	return &http.Response{
		Status: http.StatusText(c.status), StatusCode: c.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: c.header.Clone(), Body: io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)), Request: req,
	}
}

// challenge returns the remembered WWW-Authenticate header of reg's ping.
func (m *pingMemo) challenge(reg name.Registry) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range []string{"https://", "http://"} {
		if c := m.calls[s+reg.RegistryStr()]; m.fresh(c) && c.status == http.StatusUnauthorized {
			return c.header.Get("WWW-Authenticate")
		}
	}
	return ""
}

// isBearer reports whether reg answered the ping with a Bearer challenge.
func (m *pingMemo) isBearer(reg name.Registry) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(m.challenge(reg))), "bearer")
}

// isTokenRequest reports whether req goes to a remembered Bearer realm.
func (m *pingMemo) isTokenRequest(req *http.Request) bool {
	u := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.realms[u]
}

// token passes a token request through and reads expires_in from the answer.
func (m *pingMemo) token(req *http.Request) (*http.Response, error) {
	resp, err := m.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var t struct {
		ExpiresIn int `json:"expires_in"`
	}
	if json.Unmarshal(body, &t) == nil && t.ExpiresIn > 0 {
		m.mu.Lock()
		m.life = time.Duration(t.ExpiresIn) * time.Second
		m.mu.Unlock()
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// tokenTTL is how long hoist keeps a repository's token: 90% of what the registry
// announced, or def when it did not say.
func (m *pingMemo) tokenTTL(def time.Duration) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.life > 0 {
		return m.life * 9 / 10
	}
	return def
}

// realm extracts realm="..." from a Bearer challenge.
func realm(challenge string) string {
	i := strings.Index(strings.ToLower(challenge), "realm=\"")
	if i < 0 {
		return ""
	}
	rest := challenge[i+len("realm=\""):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}
