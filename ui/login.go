package ui

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

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
// dashboard answer the right one, the form again with 401 a wrong one, or with 429
// once the client has sent too many wrong ones (see failures). The token is compared
// before anything is counted: the right one is never refused.
func (s *Server) login(c echo.Context) error {
	r := c.Request()
	if s.crossSite(r) {
		return forbidden("a login from another site is refused")
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		return problem(http.StatusBadRequest, "bad-request", "the login form did not parse")
	}
	key := s.proxies.clientKey(r)
	if !sameToken(r.PostForm.Get("token"), s.token) {
		limited, wait, first := s.logins.fail(key)
		if !limited {
			s.refusals.Info().Str("client", key).Msg("dashboard login refused: wrong token")
			return s.render(c, http.StatusUnauthorized, "login.html", pageData{Root: "./", Error: "wrong token"})
		}
		if first {
			s.log.Warn().Str("client", key).Int("wrong_tokens", loginBurst+1).Msg("dashboard login: too many wrong tokens from one client; its next ones are answered 429 for a minute")
		}
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return s.render(c, http.StatusTooManyRequests, "login.html", pageData{Root: "./", Error: "wrong token, and too many of them; wait a minute"})
	}
	s.logins.succeed(key)
	id, _ := s.sessions.create()
	http.SetCookie(c.Response(), cookie(r, s.base, id, int(s.sessions.ttl.Seconds())))
	noStore(c)
	return c.Redirect(http.StatusSeeOther, s.base)
}

// logout ends the session. The token may come as the header or as the logout form's
// csrf field.
func (s *Server) logout(c echo.Context) error {
	r := c.Request()
	if s.crossSite(r) {
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
