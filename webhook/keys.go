package webhook

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keyFile holds the public keys read from the GAR OIDC keys file: a JWKS document
// (https://www.googleapis.com/oauth2/v3/certs), Google's {kid: PEM certificate} map
// (…/oauth2/v1/certs), or PEM public keys and certificates.
type keyFile struct {
	path string
	mu   sync.Mutex
	keys []crypto.PublicKey
	read time.Time // last attempt
	err  error     // of the last attempt; the keys read before it are kept
}

// keyRereadEvery bounds how often a token no key matches makes hoist read the file again.
const keyRereadEvery = 30 * time.Second

func newKeyFile(path string, now time.Time) *keyFile {
	f := &keyFile{path: path}
	f.reload(now)
	return f
}

func (f *keyFile) get() []crypto.PublicKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys
}

// reread reads the file again unless it was read less than keyRereadEvery ago, and
// says whether it did.
func (f *keyFile) reread(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.read) < keyRereadEvery {
		return false
	}
	f.reload(now)
	return true
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

// parseKeys reads a JWKS document, Google's {kid: PEM} map, or PEM blocks.
func parseKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	if !strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
		return pemKeys(data)
	}
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(data, &probe) == nil && probe.Keys != nil {
		var jwks jose.JSONWebKeySet
		if err := json.Unmarshal(data, &jwks); err != nil {
			return nil, fmt.Errorf("JWKS: %w", err)
		}
		for _, k := range jwks.Keys {
			pub := k.Public().Key
			if !verifiable(pub) {
				return nil, fmt.Errorf("key %q: not an RSA or EC key", k.KeyID)
			}
			keys = append(keys, pub)
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
		keys = append(keys, ks...)
	}
	return nonEmpty(keys)
}

func nonEmpty(keys []crypto.PublicKey) ([]crypto.PublicKey, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

// verifiable says whether k is a key type oidc.StaticKeySet takes; it refuses the
// whole set when one is not. Only RSA keys verify a token (RS256), but a file may
// hold other keys besides.
func verifiable(k any) bool {
	switch k.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	}
	return false
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
		if verifiable(pub) {
			keys = append(keys, pub)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public keys or certificates")
	}
	return keys, nil
}
