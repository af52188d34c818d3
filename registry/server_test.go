package registry

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is ggcr's in-process registry behind a wrapper that counts requests by
// kind and can demand auth, page tag lists, add headers or answer with errors.
type testRegistry struct {
	host string // wrapped, "127.0.0.1:port"
	raw  string // unwrapped, for pushing

	auth     string // "", "basic" or "bearer"
	pageSize int    // tag list page size (Link headers); 0: no paging
	// before, when set, may answer a request itself (return true).
	before func(w http.ResponseWriter, r *http.Request) bool

	ping, head, get, token, tags, other atomic.Int64
	mu                                  sync.Mutex
	scopes                              []string // token scopes asked for
}

func newTestRegistry(t *testing.T, setup func(*testRegistry)) *testRegistry {
	t.Helper()
	tr := &testRegistry{}
	if setup != nil {
		setup(tr)
	}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	raw := httptest.NewServer(h)
	t.Cleanup(raw.Close)
	tr.raw = strings.TrimPrefix(raw.URL, "http://")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.count(r)
		if tr.before != nil && tr.before(w, r) {
			return
		}
		if r.URL.Path == "/token" {
			tr.serveToken(w, r)
			return
		}
		if !tr.authorized(w, r) {
			return
		}
		if tr.pageSize > 0 && strings.HasSuffix(r.URL.Path, "/tags/list") {
			tr.serveTagPage(w, r, h)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) count(r *http.Request) {
	switch {
	case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
		tr.ping.Add(1)
	case r.URL.Path == "/token":
		tr.token.Add(1)
	case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead:
		tr.head.Add(1)
	case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet:
		tr.get.Add(1)
	case strings.HasSuffix(r.URL.Path, "/tags/list"):
		tr.tags.Add(1)
	default:
		tr.other.Add(1)
	}
}

func (tr *testRegistry) counts() string {
	return fmt.Sprintf("ping=%d head=%d get=%d token=%d tags=%d other=%d",
		tr.ping.Load(), tr.head.Load(), tr.get.Load(), tr.token.Load(), tr.tags.Load(), tr.other.Load())
}

// repoOf returns "a/b" for /v2/a/b/manifests/x.
func repoOf(path string) string {
	p := strings.TrimPrefix(path, "/v2/")
	for _, sep := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.Index(p, sep); i >= 0 {
			return p[:i]
		}
	}
	return ""
}

func (tr *testRegistry) authorized(w http.ResponseWriter, r *http.Request) bool {
	switch tr.auth {
	case "basic":
		if u, p, ok := r.BasicAuth(); ok && u == "user" && p == "pass" {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
	case "bearer":
		repo := repoOf(r.URL.Path)
		if r.Header.Get("Authorization") == "Bearer "+tokenFor("repository:"+repo+":pull") ||
			(repo == "" && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")) {
			return true
		}
		c := fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, tr.host)
		if repo != "" {
			c += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
		}
		w.Header().Set("WWW-Authenticate", c)
	default:
		return true
	}
	w.WriteHeader(http.StatusUnauthorized)
	return false
}

func tokenFor(scope string) string {
	return "tok-" + strings.NewReplacer(":", "-", "/", "-").Replace(scope)
}

func (tr *testRegistry) serveToken(w http.ResponseWriter, r *http.Request) {
	scopes := r.URL.Query()["scope"]
	tr.mu.Lock()
	tr.scopes = append(tr.scopes, scopes...)
	tr.mu.Unlock()
	tok := "anonymous"
	if len(scopes) == 1 {
		tok = tokenFor(scopes[0])
	}
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 300})
}

// serveTagPage lists all tags from the registry and serves them pageSize at a time,
// with a Link header to the next page, ignoring the client's n.
func (tr *testRegistry) serveTagPage(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := httptest.NewRecorder()
	all := r.Clone(r.Context())
	all.URL.RawQuery = ""
	h.ServeHTTP(rec, all)
	var l struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	tags := l.Tags
	if last := r.URL.Query().Get("last"); last != "" {
		for i, t := range tags {
			if t > last {
				tags = tags[i:]
				break
			}
		}
	}
	if len(tags) > tr.pageSize {
		tags = tags[:tr.pageSize]
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, l.Name, tr.pageSize, tags[len(tags)-1]))
	}
	json.NewEncoder(w).Encode(map[string]any{"name": l.Name, "tags": tags})
}

// push writes img as repo:tag (through the unwrapped server) and returns its digest.
func (tr *testRegistry) push(t *testing.T, repoTag string, img remote.Taggable) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(tr.raw + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	switch x := img.(type) {
	case v1.Image:
		err = remote.Write(ref, x)
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, x)
	default:
		err = remote.Put(ref, img)
	}
	if err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	d, err := img.(interface{ Digest() (v1.Hash, error) }).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (tr *testRegistry) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(tr.host + "/" + s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tinyImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
