package ui

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hoist-dev/hoist/api"
)

// maxStreams bounds the live feeds open at once, maxStreamsPerViewer those of one
// session (or, for anonymous viewers, one client address): a browser opens one per
// tab, and one viewer must not take every slot.
const (
	maxStreams          = 64
	maxStreamsPerViewer = 4
)

// heartbeat is how often an idle feed sends a comment, so proxies keep it open and a
// dead client is noticed.
const heartbeat = 15 * time.Second

// events streams the updater's changes as server-sent events ("change", data: the
// Change as JSON). It ends with the server, or when the session it was opened with
// ends; the browser's EventSource reconnects by itself.
func (s *Server) events(c echo.Context) error {
	sess, hadSession := sessionOf(c)
	viewer := "client " + s.proxies.clientKey(c.Request())
	if hadSession {
		viewer = "session " + sess.csrf
	}
	if !s.feeds.take(viewer) {
		return problem(http.StatusTooManyRequests, "too-many-requests", fmt.Sprintf("%d live feeds are open for this login; close a tab", maxStreamsPerViewer))
	}
	defer s.feeds.give(viewer)
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		return problem(http.StatusServiceUnavailable, "service-unavailable", fmt.Sprintf("%d live feeds are open; try again later", maxStreams))
	}
	w := c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	if api.IsHead(c) {
		return c.NoContent(http.StatusOK)
	}
	ch, cancel := s.u.Subscribe()
	defer cancel()
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	w.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-c.Request().Context().Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case <-tick.C:
			if _, _, ok := s.sessions.fromRequest(c.Request()); hadSession && !ok {
				return nil // logged out or expired: the reconnect is asked to log in
			}
			fmt.Fprint(w, ": ping\n\n")
		case chg, ok := <-ch:
			if !ok {
				return nil
			}
			b, err := visibleJSON(chg)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
		}
		w.Flush()
	}
}

// feedCounts counts the live feeds open per viewer.
type feedCounts struct {
	mu sync.Mutex
	m  map[string]int
}

// take opens a feed for viewer, unless it has maxStreamsPerViewer open.
func (f *feedCounts) take(viewer string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]int{}
	}
	if f.m[viewer] >= maxStreamsPerViewer {
		return false
	}
	f.m[viewer]++
	return true
}

func (f *feedCounts) give(viewer string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[viewer]--; f.m[viewer] <= 0 {
		delete(f.m, viewer)
	}
}
