package webhook

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// oidcToken verifies the ID token a Pub/Sub push subscription sends in
// Authorization: Bearer. hoist has no internet access to fetch Google's keys, so
// they are read from a file (JWKS, Google's {kid: PEM certificate} map, or PEM keys
// and certificates) and re-read when a token names a key the file did not have.
type oidcToken struct {
	audience, email string
	keys            *keyFile
	now             func() time.Time
}

var googleIssuers = []string{"https://accounts.google.com", "accounts.google.com"}

const clockSkew = time.Minute

func (a *oidcToken) authenticate(r *http.Request, _ string, _ []byte) (bool, string) {
	tok, ok := cutScheme(r.Header.Get("Authorization"), "Bearer")
	if !ok || tok == "" {
		return false, "missing Pub/Sub OIDC bearer token"
	}
	if err := a.verify(tok); err != nil {
		return false, "OIDC token rejected: " + err.Error()
	}
	return true, ""
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss           string          `json:"iss"`
	Aud           json.RawMessage `json:"aud"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	Exp           float64         `json:"exp"`
	Iat           float64         `json:"iat"`
	Nbf           float64         `json:"nbf"`
}

// verify checks signature, issuer, audience, email and times. Its errors say what
// failed but never quote the token.
func (a *oidcToken) verify(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	var h jwtHeader
	if err := decodeSegment(parts[0], &h); err != nil {
		return errors.New("bad header")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("bad signature encoding")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	keys, err := a.keys.lookup(h.Kid, a.now())
	if err != nil {
		return err
	}
	if !verifySig(h.Alg, keys, digest[:], sig) {
		return errors.New("bad signature")
	}
	var c jwtClaims
	if err := decodeSegment(parts[1], &c); err != nil {
		return errors.New("bad claims")
	}
	now := a.now()
	switch {
	case !contains(googleIssuers, c.Iss):
		return errors.New("issuer is not Google")
	case !audienceHas(c.Aud, a.audience):
		return errors.New("wrong audience")
	case c.Email != a.email || !c.EmailVerified:
		return errors.New("wrong or unverified service account email")
	case c.Exp == 0 || now.After(unix(c.Exp).Add(clockSkew)):
		return errors.New("expired")
	case c.Nbf != 0 && now.Add(clockSkew).Before(unix(c.Nbf)),
		c.Iat != 0 && now.Add(clockSkew).Before(unix(c.Iat)):
		return errors.New("not valid yet")
	}
	return nil
}

func verifySig(alg string, keys []crypto.PublicKey, digest, sig []byte) bool {
	for _, k := range keys {
		switch k := k.(type) {
		case *rsa.PublicKey:
			if alg == "RS256" && rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig) == nil {
				return true
			}
		case *ecdsa.PublicKey:
			if alg == "ES256" && len(sig) == 64 && k.Curve.Params().BitSize == 256 {
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				if ecdsa.Verify(k, digest, r, s) {
					return true
				}
			}
		}
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && contains(many, want)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func unix(f float64) time.Time { return time.Unix(int64(f), 0) }

// keyFile holds the public keys read from a file, by kid ("" for keys without one).
type keyFile struct {
	path string
	mu   sync.Mutex
	keys map[string][]crypto.PublicKey
	read time.Time // last attempt
	err  error
}

const keyRereadEvery = 30 * time.Second

func newKeyFile(path string, now time.Time) *keyFile {
	f := &keyFile{path: path}
	f.reload(now)
	return f
}

func (f *keyFile) reload(now time.Time) {
	f.read = now
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.err = fmt.Errorf("OIDC keys: %w", err)
		return
	}
	keys, err := parseKeys(data)
	if err != nil {
		f.err = fmt.Errorf("OIDC keys in %s: %w", f.path, err)
		return
	}
	f.keys, f.err = keys, nil
}

// lookup returns the keys for kid (all keys when kid is unknown to a file without
// kids), re-reading the file at most every keyRereadEvery when the kid is missing.
func (f *keyFile) lookup(kid string, now time.Time) ([]crypto.PublicKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ks := f.find(kid); len(ks) > 0 {
		return ks, nil
	}
	if now.Sub(f.read) >= keyRereadEvery {
		f.reload(now)
		if ks := f.find(kid); len(ks) > 0 {
			return ks, nil
		}
	}
	if f.err != nil {
		return nil, errors.New("signing keys unavailable")
	}
	return nil, errors.New("unknown signing key")
}

func (f *keyFile) find(kid string) []crypto.PublicKey {
	if ks := f.keys[kid]; len(ks) > 0 {
		return ks
	}
	return f.keys[""]
}

// parseKeys reads a JWKS document, Google's {kid: PEM} map, or PEM blocks.
func parseKeys(data []byte) (map[string][]crypto.PublicKey, error) {
	keys := map[string][]crypto.PublicKey{}
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var jwks struct {
			Keys []jwk `json:"keys"`
		}
		if err := json.Unmarshal(data, &jwks); err == nil && jwks.Keys != nil {
			for _, k := range jwks.Keys {
				pub, err := k.publicKey()
				if err != nil {
					return nil, fmt.Errorf("key %q: %w", k.Kid, err)
				}
				keys[k.Kid] = append(keys[k.Kid], pub)
			}
			return nonEmpty(keys)
		}
		var byKid map[string]string
		if err := json.Unmarshal(data, &byKid); err != nil {
			return nil, errors.New("JSON is neither a JWKS nor a {kid: PEM} map")
		}
		for kid, p := range byKid {
			ks, err := pemKeys([]byte(p))
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", kid, err)
			}
			keys[kid] = append(keys[kid], ks...)
		}
		return nonEmpty(keys)
	}
	ks, err := pemKeys(data)
	if err != nil {
		return nil, err
	}
	keys[""] = ks
	return nonEmpty(keys)
}

func nonEmpty(keys map[string][]crypto.PublicKey) (map[string][]crypto.PublicKey, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

func pemKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var pub any
		var err error
		switch b.Type {
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				pub = c.PublicKey
			}
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s: %w", b.Type, err)
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public keys or certificates")
	}
	return keys, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (k jwk) publicKey() (crypto.PublicKey, error) {
	b := func(s string) (*big.Int, error) {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil || len(raw) == 0 {
			return nil, errors.New("bad base64url number")
		}
		return new(big.Int).SetBytes(raw), nil
	}
	switch k.Kty {
	case "RSA":
		n, err := b(k.N)
		if err != nil {
			return nil, err
		}
		e, err := b(k.E)
		if err != nil || !e.IsInt64() || e.Int64() > 1<<31 {
			return nil, errors.New("bad RSA exponent")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("curve %q not supported", k.Crv)
		}
		x, errX := base64.RawURLEncoding.DecodeString(k.X)
		y, errY := base64.RawURLEncoding.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad P-256 point")
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	}
	return nil, fmt.Errorf("key type %q not supported", k.Kty)
}
