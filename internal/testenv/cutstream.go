package testenv

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// CutStream is a transport (for DockerThrough) that passes requests to the engine and
// can break the engine's event stream: Cut closes every /events answer in flight and
// refuses new ones until Mend. It counts the requests by path.
type CutStream struct {
	Base http.RoundTripper

	mu     sync.Mutex
	down   bool
	bodies []io.Closer
	opened int            // /events requests the engine answered
	paths  map[string]int // requests by URL path (API version cut off)
}

// RoundTrip implements http.RoundTripper.
func (c *CutStream) RoundTrip(req *http.Request) (*http.Response, error) {
	events := strings.HasSuffix(req.URL.Path, "/events")
	c.mu.Lock()
	down := c.down
	if c.paths == nil {
		c.paths = map[string]int{}
	}
	c.paths[unversioned(req.URL.Path)]++
	c.mu.Unlock()
	if events && down {
		return nil, errors.New("test: event stream held down")
	}
	resp, err := c.Base.RoundTrip(req)
	if err == nil && events {
		c.mu.Lock()
		c.bodies = append(c.bodies, resp.Body)
		c.opened++
		c.mu.Unlock()
	}
	return resp, err
}

// unversioned cuts the API version ("/v1.41") off an engine path.
func unversioned(p string) string {
	if strings.HasPrefix(p, "/v1.") {
		if i := strings.Index(p[1:], "/"); i >= 0 {
			return p[i+1:]
		}
	}
	return p
}

// Cut breaks the event stream and holds it down.
func (c *CutStream) Cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = true
	for _, b := range c.bodies {
		b.Close()
	}
	c.bodies = nil
}

// Mend lets the event stream connect again.
func (c *CutStream) Mend() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = false
}

// Opened is how many event streams the engine answered.
func (c *CutStream) Opened() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened
}

// Requests is how many requests went to path ("/containers/<id>/json"), whatever the
// API version.
func (c *CutStream) Requests(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[path]
}
