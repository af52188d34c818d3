package ui

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Login attempts are limited per client address: loginBurst in loginWindow. At most
// maxClients addresses are tracked; past that, new ones wait for the window to pass.
const (
	loginBurst  = 10
	loginWindow = time.Minute
	maxClients  = 4096
)

// limiter counts login attempts per client address in fixed windows.
type limiter struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// allow counts an attempt from addr and reports whether it may go ahead, and if not,
// when it may.
func (l *limiter) allow(addr string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.m[addr]
	if !ok || now.Sub(w.start) >= loginWindow {
		if !ok && len(l.m) >= maxClients {
			l.prune(now)
			if len(l.m) >= maxClients {
				return false, loginWindow
			}
		}
		w = &window{start: now}
		l.m[addr] = w
	}
	w.n++
	if w.n > loginBurst {
		return false, loginWindow - now.Sub(w.start)
	}
	return true, 0
}

func (l *limiter) prune(now time.Time) {
	for k, w := range l.m {
		if now.Sub(w.start) >= loginWindow {
			delete(l.m, k)
		}
	}
}

// clientAddr is the address the connection came from (a reverse proxy's own, behind
// one: its clients share a budget, which a forged header cannot widen).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maxLoginBody bounds a login form.
const maxLoginBody = 4 << 10

func (s *Server) loginPage(c echo.Context) error {
	if _, _, ok := s.sessions.fromRequest(c.Request()); ok {
		noStore(c)
		return c.Redirect(http.StatusSeeOther, s.base)
	}
	return s.render(c, http.StatusOK, "login.html", pageData{Root: "./"})
}

// login checks the token from the form; a session cookie and a redirect to the
// dashboard answer the right one, the form again with 401 a wrong one.
func (s *Server) login(c echo.Context) error {
	r := c.Request()
	if crossSite(r) {
		return forbidden("a login from another site is refused")
	}
	if ok, wait := s.logins.allow(clientAddr(r)); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return s.render(c, http.StatusTooManyRequests, "login.html", pageData{Root: "./", Error: "too many attempts; wait a minute"})
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		return problem(http.StatusBadRequest, "bad-request", "the login form did not parse")
	}
	if !sameToken(r.PostForm.Get("token"), s.token) {
		s.log.Info().Str("client", clientAddr(r)).Msg("dashboard login refused: wrong token")
		return s.render(c, http.StatusUnauthorized, "login.html", pageData{Root: "./", Error: "wrong token"})
	}
	id, _ := s.sessions.create()
	http.SetCookie(c.Response(), cookie(r, s.base, id, int(s.sessions.ttl.Seconds())))
	noStore(c)
	return c.Redirect(http.StatusSeeOther, s.base)
}

// logout ends the session. The token may come as the header or as the logout form's
// csrf field.
func (s *Server) logout(c echo.Context) error {
	r := c.Request()
	if crossSite(r) {
		return forbidden("a logout from another site is refused")
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxLoginBody)
	id, sess, ok := s.sessions.fromRequest(r)
	if ok {
		tok := r.Header.Get(csrfHeader)
		if tok == "" {
			tok = r.PostFormValue("csrf")
		}
		if !sameToken(tok, sess.csrf) {
			return forbidden("the request lacks the page's CSRF token; reload the page")
		}
		s.sessions.drop(id)
	}
	http.SetCookie(c.Response(), cookie(r, s.base, "", -1))
	noStore(c)
	return c.Redirect(http.StatusSeeOther, s.base+"login")
}
