package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// maxStreams bounds the live feeds open at once.
const maxStreams = 64

// heartbeat is how often an idle feed sends a comment, so proxies keep it open and a
// dead client is noticed.
const heartbeat = 15 * time.Second

// events streams the updater's changes as server-sent events ("change", data: the
// Change as JSON). It ends with the server, or when the session it was opened with
// ends; the browser's EventSource reconnects by itself.
func (s *Server) events(c echo.Context) error {
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		return problem(http.StatusServiceUnavailable, "service-unavailable", fmt.Sprintf("%d live feeds are open; try again later", maxStreams))
	}
	ch, cancel := s.u.Subscribe()
	defer cancel()
	_, hadSession := sessionOf(c)
	w := c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
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
			b, err := json.Marshal(chg)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
		}
		w.Flush()
	}
}
