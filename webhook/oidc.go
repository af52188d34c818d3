package webhook

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// oidcToken verifies the ID token a Pub/Sub push subscription sends in
// Authorization: Bearer, with go-oidc's IDTokenVerifier: RS256 only, issuer Google
// (https://accounts.google.com or accounts.google.com), the configured audience, not
// expired. hoist has no internet access to fetch Google's keys, so they come from a
// file (see keys.go) and the verifier gets them as an oidc.StaticKeySet.
type oidcToken struct {
	audience, email string
	keys            *keyFile
	now             func() time.Time
}

// googleIssuer is the issuer the verifier expects; go-oidc also accepts
// "accounts.google.com", which Google puts in some tokens.
const googleIssuer = "https://accounts.google.com"

// clockSkew is how far hoist's clock may be from Google's: a token is accepted up to
// clockSkew after exp, and up to clockSkew before its iat or nbf.
const clockSkew = time.Minute

func (a *oidcToken) authenticate(r *http.Request, _ string, _ []byte) (bool, string) {
	tok, ok := cutScheme(r.Header.Get("Authorization"), "Bearer")
	if !ok || tok == "" {
		return false, "missing Pub/Sub OIDC bearer token"
	}
	if err := a.verify(r.Context(), tok); err != nil {
		return false, "OIDC token rejected: " + err.Error()
	}
	return true, ""
}

// verify checks signature, issuer, audience, times and email. Its errors are hoist's
// own words: they say what failed but never quote the token or go-oidc's messages,
// which repeat claims from it.
func (a *oidcToken) verify(ctx context.Context, raw string) error {
	now := a.now()
	ks := &keyAttempt{file: a.keys, now: now}
	v := oidc.NewVerifier(googleIssuer, ks, &oidc.Config{
		ClientID:             a.audience,
		SupportedSigningAlgs: []string{oidc.RS256},
		// go-oidc allows no skew on exp: give it a clock running clockSkew behind.
		Now: func() time.Time { return now.Add(-clockSkew) },
	})
	tok, err := v.Verify(ctx, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case ks.err != nil:
		return ks.err
	case err != nil && !ks.tried:
		return errors.New("not a JWT signed with RS256")
	case err != nil && !ks.verified:
		return errors.New("bad signature or unknown signing key")
	case errors.As(err, &expired):
		return errors.New("expired")
	case err != nil:
		return errors.New("issuer is not Google or wrong audience")
	}
	var c struct {
		Email         string  `json:"email"`
		EmailVerified bool    `json:"email_verified"`
		NotBefore     float64 `json:"nbf"`
	}
	if err := tok.Claims(&c); err != nil {
		return errors.New("bad claims")
	}
	switch {
	case c.Email != a.email || !c.EmailVerified:
		return errors.New("wrong or unverified service account email")
	case now.Add(clockSkew).Before(tok.IssuedAt),
		c.NotBefore != 0 && now.Add(clockSkew).Before(time.Unix(int64(c.NotBefore), 0)):
		return errors.New("not valid yet")
	}
	return nil
}

// keyAttempt is the oidc.KeySet of one verification: it checks the signature against
// every key in the file with an oidc.StaticKeySet, re-reads the file (at most every
// keyRereadEvery) when none matches, and remembers how it went for verify's answer.
type keyAttempt struct {
	file     *keyFile
	now      time.Time
	tried    bool  // go-oidc parsed an RS256 JWT and asked for its signature to be checked
	verified bool  // a key matched the signature
	err      error // no keys could be read
}

func (k *keyAttempt) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	k.tried = true
	keys := k.file.get()
	if payload, ok := verifyWith(ctx, keys, jwt); ok {
		k.verified = true
		return payload, nil
	}
	if k.file.reread(k.now) {
		keys = k.file.get()
		if payload, ok := verifyWith(ctx, keys, jwt); ok {
			k.verified = true
			return payload, nil
		}
	}
	if len(keys) == 0 {
		k.err = errKeysUnavailable
		return nil, k.err
	}
	return nil, errors.New("no key matches the signature")
}

func verifyWith(ctx context.Context, keys []crypto.PublicKey, jwt string) ([]byte, bool) {
	if len(keys) == 0 {
		return nil, false
	}
	payload, err := (&oidc.StaticKeySet{PublicKeys: keys}).VerifySignature(ctx, jwt)
	return payload, err == nil
}

var errKeysUnavailable = errors.New("signing keys unavailable")
