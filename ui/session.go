package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// sessionCookie names the cookie that carries a session's id.
const sessionCookie = "hoist_session"

// maxSessions bounds the sessions kept; past it the one nearest its expiry goes.
const maxSessions = 1000

// session is one login: the CSRF token its pages send back with every action.
type session struct {
	csrf    string
	expires time.Time
}

// sessions are kept in memory, and saved to file (when set) at each login and logout
// so that a restart of hoist logs no one out.
type sessions struct {
	ttl  time.Duration
	now  func() time.Time
	file string
	// saved reports a failed save (the sessions stay valid in memory).
	saved func(error)

	// secret keys the ids' HMACs: api.token, so that a new token ends every session.
	secret []byte

	mu sync.Mutex
	m  map[[32]byte]session // by the id's HMAC: the map (and its file) never holds a usable id
}

func newSessions(ttl time.Duration, now func() time.Time, secret string) *sessions {
	return &sessions{ttl: ttl, now: now, secret: []byte(secret), m: map[[32]byte]session{}, saved: func(error) {}}
}

// key is what the map keeps a session under: HMAC-SHA256 of its id.
func (s *sessions) key(id string) [32]byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(id))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// randomToken is 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns its id.
func (s *sessions) create() (string, session) {
	id := randomToken()
	sess := session{csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		s.evict()
	}
	s.m[s.key(id)] = sess
	s.saved(s.save())
	return id, sess
}

// evict drops expired sessions, or else the one that expires first.
func (s *sessions) evict() {
	now := s.now()
	var first [32]byte
	var at time.Time
	for k, v := range s.m {
		if !v.expires.After(now) {
			delete(s.m, k)
			continue
		}
		if at.IsZero() || v.expires.Before(at) {
			first, at = k, v.expires
		}
	}
	if len(s.m) >= maxSessions {
		delete(s.m, first)
	}
}

// get returns the live session of id.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	k := s.key(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[k]
	if ok && !sess.expires.After(s.now()) {
		delete(s.m, k)
		return session{}, false
	}
	return sess, ok
}

// drop ends the session of id.
func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, s.key(id))
	s.saved(s.save())
}

// fromRequest returns the request's session, if it has a live one.
func (s *sessions) fromRequest(r *http.Request) (string, session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", session{}, false
	}
	sess, ok := s.get(c.Value)
	return c.Value, sess, ok
}

// cookie is the session cookie for id under path: HttpOnly, SameSite=Strict, and
// Secure when the browser reached hoist over TLS (directly or through a proxy that
// says so with X-Forwarded-Proto). maxAge < 0 deletes it.
func cookie(r *http.Request, path, id string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: sessionCookie, Value: id, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r),
	}
}

func overTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// sameToken compares a and b in constant time (their lengths included).
func sameToken(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}
