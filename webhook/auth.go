package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
)

// authenticator checks one request: the raw body, before anything decodes it, and
// the token from the URL path when the route has one. The reason it gives is safe
// to return and log: it never contains a secret or what the request sent.
type authenticator interface {
	authenticate(r *http.Request, pathToken string, body []byte) (ok bool, reason string)
}

// secretEq compares a presented value with a secret in constant time. Both are hashed
// first so that not even the secret's length leaks through timing.
type secretEq [sha256.Size]byte

func newSecretEq(secret string) secretEq { return sha256.Sum256([]byte(secret)) }

func (s *secretEq) equal(v string) bool {
	h := sha256.Sum256([]byte(v))
	return subtle.ConstantTimeCompare(h[:], s[:]) == 1
}

// pathToken: the secret is the last URL path segment (Docker Hub, Quay, GAR).
type pathToken struct{ secret secretEq }

func (a *pathToken) authenticate(_ *http.Request, tok string, _ []byte) (bool, string) {
	if tok == "" {
		return false, "token missing from URL path"
	}
	if !a.secret.equal(tok) {
		return false, "wrong token in URL path"
	}
	return true, ""
}

// headerToken: the secret in a header. Modes:
//   - bearer: "Bearer <token>" (Distribution's configured headers);
//   - verbatim: the whole value is the secret (Harbor's Auth Header; any custom header);
//   - flexible: for Authorization set by ACR or an EventBridge connection, the token
//     itself, "Bearer <token>", or Basic credentials whose password is the token.
type headerToken struct {
	header string
	mode   tokenMode
	secret secretEq
}

type tokenMode int

const (
	verbatim tokenMode = iota
	bearer
	flexible
)

func (a *headerToken) authenticate(r *http.Request, _ string, _ []byte) (bool, string) {
	v := r.Header.Get(a.header)
	if v == "" {
		return false, "missing " + a.header + " header"
	}
	switch a.mode {
	case bearer:
		tok, ok := cutScheme(v, "Bearer")
		if !ok || !a.secret.equal(tok) {
			return false, "wrong bearer token"
		}
		return true, ""
	case flexible:
		if tok, ok := cutScheme(v, "Basic"); ok {
			if raw, err := base64.StdEncoding.DecodeString(tok); err == nil {
				if _, pass, ok := strings.Cut(string(raw), ":"); ok && a.secret.equal(pass) {
					return true, ""
				}
			}
			return false, "wrong " + a.header + " credentials"
		}
		if tok, ok := cutScheme(v, "Bearer"); ok {
			v = tok
		}
	}
	if !a.secret.equal(v) {
		return false, "wrong " + a.header + " value"
	}
	return true, ""
}

// cutScheme returns the credentials after "<scheme> " (scheme matched case-insensitively).
func cutScheme(v, scheme string) (string, bool) {
	if len(v) <= len(scheme)+1 || !strings.EqualFold(v[:len(scheme)], scheme) || v[len(scheme)] != ' ' {
		return "", false
	}
	return strings.TrimSpace(v[len(scheme)+1:]), true
}

// hmacSHA256: hex HMAC-SHA256 of the body under the secret, in the first of headers
// that is present, after its prefix. An empty signature fails: Gitea sends empty
// signature headers when no secret is configured.
type hmacSHA256 struct {
	key     []byte
	headers []sigHeader
}

type sigHeader struct{ name, prefix string }

func (a *hmacSHA256) authenticate(r *http.Request, _ string, body []byte) (bool, string) {
	for _, h := range a.headers {
		v, present := r.Header[http.CanonicalHeaderKey(h.name)]
		if !present {
			continue
		}
		sig := strings.TrimPrefix(strings.TrimSpace(strings.Join(v, "")), h.prefix)
		if sig == "" {
			return false, "empty " + h.name + " signature"
		}
		got, err := hex.DecodeString(sig)
		if err != nil || len(got) != sha256.Size {
			return false, "malformed " + h.name + " signature"
		}
		m := hmac.New(sha256.New, a.key)
		m.Write(body)
		if !hmac.Equal(m.Sum(nil), got) {
			return false, "bad " + h.name + " signature"
		}
		return true, ""
	}
	return false, "missing " + a.headers[0].name + " signature"
}

// allOf requires every authenticator to pass (GAR: path token and OIDC).
type allOf []authenticator

func (as allOf) authenticate(r *http.Request, tok string, body []byte) (bool, string) {
	for _, a := range as {
		if ok, why := a.authenticate(r, tok, body); !ok {
			return false, why
		}
	}
	return true, ""
}
