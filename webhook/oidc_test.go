package webhook

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/config"
)

const (
	aud   = "https://hoist.example.com/webhooks/gar"
	email = "pubsub-push@acme-prod.iam.gserviceaccount.com"
)

func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(head))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func writeJWKS(t *testing.T, path string, keys map[string]*rsa.PrivateKey) {
	t.Helper()
	var list []map[string]string
	for kid, k := range keys {
		list = append(list, map[string]string{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
	}
	b, _ := json.Marshal(map[string]any{"keys": list})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func goodClaims(now time.Time) map[string]any {
	return map[string]any{"iss": "https://accounts.google.com", "aud": aud, "email": email, "email_verified": true,
		"sub": "1234567890", "azp": "1234567890", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func TestGAROIDC(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "google.jwks")
	writeJWKS(t, keysFile, map[string]*rsa.PrivateKey{"k1": key})

	cfg := config.Webhooks{GAR: &config.GARSource{Token: tok, OIDC: &config.OIDC{Audience: aud, Email: email, KeysFile: keysFile}}}
	h := newHarness(t, cfg)
	now := time.Now()
	h.s.now = func() time.Time { return now }
	body := fixture(t, "gar", "insert")
	req := func(jwt string) *http.Request {
		r := validRequest("gar", body)
		if jwt != "" {
			r.Header.Set("Authorization", "Bearer "+jwt)
		}
		return r
	}
	with := func(k string, v any) map[string]any {
		c := goodClaims(now)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	bad := map[string]string{
		"missing":         "",
		"garbage":         "a.b.c",
		"other key":       signJWT(t, other, "k1", goodClaims(now)),
		"wrong audience":  signJWT(t, key, "k1", with("aud", "https://evil.example.com")),
		"wrong email":     signJWT(t, key, "k1", with("email", "attacker@evil.iam.gserviceaccount.com")),
		"unverified":      signJWT(t, key, "k1", with("email_verified", false)),
		"wrong issuer":    signJWT(t, key, "k1", with("iss", "https://evil.example.com")),
		"expired":         signJWT(t, key, "k1", with("exp", now.Add(-2*time.Minute).Unix())),
		"no exp":          signJWT(t, key, "k1", with("exp", nil)),
		"future":          signJWT(t, key, "k1", with("iat", now.Add(10*time.Minute).Unix())),
		"unknown kid":     signJWT(t, other, "k2", goodClaims(now)),
		"alg none header": "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://accounts.google.com"}`)) + ".",
	}
	for name, jwt := range bad {
		t.Run(name, func(t *testing.T) {
			expectError(t, h.do(req(jwt)), 401, "OIDC")
		})
	}
	// Path token is still required.
	r := post("/webhooks/gar/"+secret, body, "Authorization", "Bearer "+signJWT(t, key, "k1", goodClaims(now)))
	expectError(t, h.do(r), 401, "wrong token")

	if w := h.do(req(signJWT(t, key, "k1", goodClaims(now)))); w.Code != 202 {
		t.Fatalf("good token: %d %s", w.Code, w.Body)
	}
	// Audience as a list, a key without kid match in a rotated file picked up on re-read.
	writeJWKS(t, keysFile, map[string]*rsa.PrivateKey{"k1": key, "k2": other})
	now = now.Add(keyRereadEvery + time.Second)
	c := goodClaims(now)
	c["aud"] = []string{"x", aud}
	if w := h.do(req(signJWT(t, other, "k2", c))); w.Code != 202 {
		t.Fatalf("rotated key: %d %s", w.Code, w.Body)
	}
	if n := len(h.sink.got()); n != 1 { // the second is the same message id: duplicate
		t.Fatalf("%d enqueued", n)
	}
}

func TestOIDCKeysFileMissingFailsClosed(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	path := filepath.Join(t.TempDir(), "later.pem")
	cfg := config.Webhooks{GAR: &config.GARSource{Token: tok, OIDC: &config.OIDC{Audience: aud, Email: email, KeysFile: path}}}
	h := newHarness(t, cfg)
	now := time.Now()
	h.s.now = func() time.Time { return now }
	r := validRequest("gar", fixture(t, "gar", "insert"))
	r.Header.Set("Authorization", "Bearer "+signJWT(t, key, "k1", goodClaims(now)))
	expectError(t, h.do(r), 401, "signing keys unavailable")

	// A PEM certificate file appears; after the re-read interval it is used.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	now = now.Add(keyRereadEvery)
	r = validRequest("gar", fixture(t, "gar", "insert"))
	r.Header.Set("Authorization", "Bearer "+signJWT(t, key, "k1", goodClaims(now)))
	if w := h.do(r); w.Code != 202 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestParseKeysFormats(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for name, data := range map[string]string{
		"pem":        pub,
		"kid map":    mustJSON(map[string]string{"abc": pub}),
		"jwks ec":    `{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"` + b64(32, 1) + `","y":"` + b64(32, 2) + `"}]}`,
		"bad jwks":   `{"keys":[{"kty":"oct","kid":"x"}]}`,
		"empty jwks": `{"keys":[]}`,
		"not keys":   "hello",
	} {
		_, err := parseKeys([]byte(data))
		wantErr := name != "pem" && name != "kid map"
		if name == "jwks ec" {
			wantErr = true // (1,2) is not on the curve
		}
		if (err != nil) != wantErr {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func b64(n int, v byte) string {
	b := make([]byte, n)
	b[n-1] = v
	return base64.RawURLEncoding.EncodeToString(b)
}

// signWith builds a JWT whose signature is sign(header.claims), for algorithms other
// than RS256.
func signWith(t *testing.T, alg string, claims map[string]any, sign func(signed []byte) []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": alg, "kid": "k1", "typ": "JWT"}) + "." + enc(claims)
	return head + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(head)))
}

// TestGAROIDCOnlyRS256 refuses tokens whose alg is not RS256 even when their signature
// verifies: HMAC keyed with the public key (alg confusion) and ES256 by an EC key that
// is in the keys file. Refusals never repeat what the token says.
func TestGAROIDCOnlyRS256(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	keysFile := filepath.Join(t.TempDir(), "keys.pem")
	os.WriteFile(keysFile, append(pubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})...), 0o600)

	cfg := config.Webhooks{GAR: &config.GARSource{Token: tok, OIDC: &config.OIDC{Audience: aud, Email: email, KeysFile: keysFile}}}
	h := newHarness(t, cfg)
	now := time.Now()
	h.s.now = func() time.Time { return now }
	body := fixture(t, "gar", "insert")
	req := func(jwt string) *http.Request {
		r := validRequest("gar", body)
		r.Header.Set("Authorization", "Bearer "+jwt)
		return r
	}
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(b []byte) []byte { m := hmac.New(sha256.New, secret); m.Write(b); return m.Sum(nil) }
	}
	es256 := func(b []byte) []byte {
		sum := sha256.Sum256(b)
		r, s, err := ecdsa.Sign(rand.Reader, ec, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	}
	for name, jwt := range map[string]string{
		"HS256 keyed with the PEM": signWith(t, "HS256", goodClaims(now), hs256(pubPEM)),
		"HS256 keyed with the DER": signWith(t, "HS256", goodClaims(now), hs256(der)),
		"ES256 by a file key":      signWith(t, "ES256", goodClaims(now), es256),
		"RS256 header, ES256 sig":  signWith(t, "RS256", goodClaims(now), es256),
	} {
		t.Run(name, func(t *testing.T) {
			expectError(t, h.do(req(jwt)), 401, "OIDC")
		})
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	expectError(t, h.do(req(signJWT(t, other, "k1", goodClaims(now)))), 401, "OIDC token rejected: bad signature")

	c := goodClaims(now)
	c["aud"] = "https://evil.example.com/secret-looking-audience"
	w := h.do(req(signJWT(t, key, "k1", c)))
	expectError(t, w, 401, "wrong audience")
	if strings.Contains(w.Body.String(), "evil") {
		t.Fatalf("the refusal repeats the token: %s", w.Body)
	}
}

// TestGAROIDCIssuersAndSkew accepts both issuers Google writes and the same clock skew
// as before: a minute after exp, a minute before iat.
func TestGAROIDCIssuersAndSkew(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keysFile := filepath.Join(t.TempDir(), "google.jwks")
	writeJWKS(t, keysFile, map[string]*rsa.PrivateKey{"k1": key})
	cfg := config.Webhooks{GAR: &config.GARSource{Token: tok, OIDC: &config.OIDC{Audience: aud, Email: email, KeysFile: keysFile}}}
	now := time.Now()
	for name, tc := range map[string]struct {
		claim string
		value any
		ok    bool
	}{
		"issuer without scheme": {"iss", "accounts.google.com", true},
		"issuer http":           {"iss", "http://accounts.google.com", false},
		"exp 30s ago":           {"exp", now.Add(-30 * time.Second).Unix(), true},
		"exp 90s ago":           {"exp", now.Add(-90 * time.Second).Unix(), false},
		"iat in 30s":            {"iat", now.Add(30 * time.Second).Unix(), true},
		"iat in 90s":            {"iat", now.Add(90 * time.Second).Unix(), false},
		"nbf in 30s":            {"nbf", now.Add(30 * time.Second).Unix(), true},
		"nbf in 90s":            {"nbf", now.Add(90 * time.Second).Unix(), false},
		"email_verified string": {"email_verified", "true", false},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, cfg)
			h.s.now = func() time.Time { return now }
			c := goodClaims(now)
			c[tc.claim] = tc.value
			r := validRequest("gar", fixture(t, "gar", "insert"))
			r.Header.Set("Authorization", "Bearer "+signJWT(t, key, "k1", c))
			w := h.do(r)
			if tc.ok && w.Code != 202 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if !tc.ok {
				expectError(t, w, 401, "OIDC")
			}
		})
	}
}
