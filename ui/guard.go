package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// csrfHeader carries the page's CSRF token on every action.
const csrfHeader = "X-CSRF-Token"

// ctxSession is where the guards leave the request's session for the handlers.
const ctxSession = "hoist.session"

// crossSite reports whether a browser sent r from another site: Sec-Fetch-Site says
// so, or Origin names a host other than the one asked (Host, or X-Forwarded-Host when
// a trusted proxy sent r: from anyone else the header is ignored, since whoever
// sends Origin: evil can send X-Forwarded-Host: evil too).
func (s *Server) crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return true // "null" and the like: a sandboxed or privacy-sensitive context
	}
	if strings.EqualFold(u.Host, r.Host) {
		return false
	}
	if !s.proxies.fromProxy(r) {
		return true
	}
	fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
	return fwd == "" || !strings.EqualFold(u.Host, strings.TrimSpace(fwd))
}

// viewer lets through a request with a live session, or any request when anonymous
// reading is on. A page asked without one is sent to the login form; data (JSON, the
// live feed) answers 401.
func (s *Server) viewer(page bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			_, sess, ok := s.sessions.fromRequest(c.Request())
			switch {
			case ok:
				c.Set(ctxSession, sess)
			case s.anonymous:
			case page && !strings.HasSuffix(c.Request().URL.Path, ".json"):
				noStore(c)
				return c.Redirect(http.StatusSeeOther, s.base+"login")
			default:
				return unauthorized()
			}
			return next(c)
		}
	}
}

// actor lets through an action only from the dashboard's own pages: not cross-site,
// with a live session, and with that session's CSRF token in X-CSRF-Token.
func (s *Server) actor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if s.crossSite(r) {
			return forbidden("a request from another site may not act on hoist")
		}
		_, sess, ok := s.sessions.fromRequest(r)
		if !ok {
			return unauthorized()
		}
		if !sameToken(r.Header.Get(csrfHeader), sess.csrf) {
			return forbidden("the request lacks the page's CSRF token (" + csrfHeader + "); reload the page")
		}
		c.Set(ctxSession, sess)
		return next(c)
	}
}

// sessionOf returns the session a guard found, if any.
func sessionOf(c echo.Context) (session, bool) {
	sess, ok := c.Get(ctxSession).(session)
	return sess, ok
}
