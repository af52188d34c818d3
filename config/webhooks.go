package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Webhooks holds one entry per webhook source. A source is mounted at
// POST /webhooks/<source>[/<token>] only when its section is present and valid.
// Each source is authenticated as strongly as its sender allows.
type Webhooks struct {
	// DockerHub: POST /webhooks/dockerhub/<token>. Docker Hub cannot sign, so the
	// token is a high-entropy secret in the URL path.
	DockerHub *DockerHubSource `yaml:"dockerhub" json:"dockerhub,omitempty"`
	// Distribution (registry 2.x/3.x notifications): Authorization: Bearer <token>.
	Distribution *DistributionSource `yaml:"distribution" json:"distribution,omitempty"`
	// GHCR (GitHub package / registry_package events): HMAC-SHA256 in X-Hub-Signature-256.
	GHCR *SecretSource `yaml:"ghcr" json:"ghcr,omitempty"`
	// Quay: POST /webhooks/quay/<token>; Quay sends no secret header.
	Quay *TokenSource `yaml:"quay" json:"quay,omitempty"`
	// Harbor: the Auth Header of the webhook policy, compared verbatim with Authorization.
	Harbor *TokenSource `yaml:"harbor" json:"harbor,omitempty"`
	// Gitea and Forgejo package events: HMAC-SHA256 (X-Gitea-/X-Forgejo-Signature).
	Gitea *SecretSource `yaml:"gitea" json:"gitea,omitempty"`
	// ACR: a custom header (Authorization unless Header says otherwise) holding the token.
	ACR *HeaderSource `yaml:"acr" json:"acr,omitempty"`
	// JFrog Artifactory: X-JFrog-Event-Auth, the secret itself or an HMAC of the body.
	JFrog *JFrogSource `yaml:"jfrog" json:"jfrog,omitempty"`
	// GAR (Artifact Registry through a Pub/Sub push subscription):
	// POST /webhooks/gar/<token>, optionally also a verified Pub/Sub OIDC token.
	GAR *GARSource `yaml:"gar" json:"gar,omitempty"`
	// ECR (EventBridge API destination): Basic or API-key header from the connection.
	ECR *HeaderSource `yaml:"ecr" json:"ecr,omitempty"`
	// Generic: {"image":"repo:tag"} signed with X-Hoist-Signature: sha256=<hex>.
	Generic *SecretSource `yaml:"generic" json:"generic,omitempty"`
	// Watchtower: Watchtower's POST /v1/update with Authorization: Bearer <token>.
	Watchtower *WatchtowerSource `yaml:"watchtower" json:"watchtower,omitempty"`
	// Limits bound every webhook request.
	Limits WebhookLimits `yaml:"limits" json:"limits"`
}

// TokenSource is a source authenticated by a static token.
type TokenSource struct {
	Token Secret `yaml:"token" json:"token"`
}

// SecretSource is a source that signs the body with HMAC-SHA256 under Secret.
type SecretSource struct {
	Secret Secret `yaml:"secret" json:"secret"`
}

// DockerHubSource configures Docker Hub repository webhooks.
type DockerHubSource struct {
	Token Secret `yaml:"token" json:"token"`
	// Host is the registry the services pull Docker Hub images from, when that is not
	// docker.io itself (a pull-through cache or mirror, host[:port]). Default docker.io.
	Host string `yaml:"host" json:"host,omitempty"`
}

// DistributionSource configures registry notifications.
type DistributionSource struct {
	Token Secret `yaml:"token" json:"token"`
	// Host replaces the registry host taken from each event's request.host, which is the
	// host the pushing client used and may be an internal name. host[:port].
	Host string `yaml:"host" json:"host,omitempty"`
}

// HeaderSource is a source that sends a static token in a header of the sender's choice.
type HeaderSource struct {
	Token Secret `yaml:"token" json:"token"`
	// Header names the header; empty means Authorization. In Authorization the value may
	// be the token, "Bearer <token>" or Basic credentials whose password is the token.
	Header string `yaml:"header" json:"header,omitempty"`
}

// HeaderName returns the configured header or Authorization.
func (h HeaderSource) HeaderName() string {
	if h.Header == "" {
		return "Authorization"
	}
	return h.Header
}

// JFrogSource configures Artifactory webhooks.
type JFrogSource struct {
	Secret Secret `yaml:"secret" json:"secret"`
	// Signing matches "Use secret for payload signing": X-JFrog-Event-Auth then carries
	// the hex HMAC-SHA256 of the body instead of the secret itself.
	Signing bool `yaml:"signing" json:"signing"`
}

// GARSource configures Artifact Registry notifications through Pub/Sub push.
type GARSource struct {
	Token Secret `yaml:"token" json:"token"`
	// OIDC, when set, also requires the Pub/Sub push authentication token.
	OIDC *OIDC `yaml:"oidc" json:"oidc,omitempty"`
}

// OIDC says which Google-signed ID tokens are accepted.
type OIDC struct {
	// Audience is the audience set on the push subscription.
	Audience string `yaml:"audience" json:"audience"`
	// Email is the service account the subscription pushes as.
	Email string `yaml:"email" json:"email"`
	// KeysFile holds Google's signing keys as a JWKS document
	// (https://www.googleapis.com/oauth2/v3/certs) or PEM public keys/certificates.
	KeysFile string `yaml:"keys_file" json:"keys_file"`
}

// WebhookLimits bound request size and rate. Zero values mean the defaults.
type WebhookLimits struct {
	// MaxBody is the largest accepted body, such as 1MiB or 512KiB.
	MaxBody ByteSize `yaml:"max_body" json:"max_body,omitempty"`
	// Rate is authenticated requests per second allowed per source.
	Rate float64 `yaml:"rate" json:"rate,omitempty"`
	// Burst is how many requests a source may send at once above Rate.
	Burst int `yaml:"burst" json:"burst,omitempty"`
}

// Webhook limit defaults and bounds.
const (
	DefaultWebhookMaxBody = 1 << 20
	MaxWebhookMaxBody     = 32 << 20
	DefaultWebhookRate    = 20
	DefaultWebhookBurst   = 50
)

// WithDefaults fills zero limits with the defaults.
func (l WebhookLimits) WithDefaults() WebhookLimits {
	if l.MaxBody == 0 {
		l.MaxBody = DefaultWebhookMaxBody
	}
	if l.Rate == 0 {
		l.Rate = DefaultWebhookRate
	}
	if l.Burst == 0 {
		l.Burst = DefaultWebhookBurst
	}
	return l
}

// ByteSize is a size written as 1048576, 512KiB, 1MiB, 1MB or 64kB.
type ByteSize int64

// UnmarshalYAML accepts a plain number of bytes or a number with a unit.
func (b *ByteSize) UnmarshalYAML(data []byte) error {
	s := strings.Trim(strings.TrimSpace(string(data)), `"'`)
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}

// MarshalYAML writes the size as a number of bytes.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"kB", 1000}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

func parseByteSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("size %q: write a whole number of bytes or one with a unit, such as 1MiB or 512KiB", s)
	}
	return n * mult, nil
}

// MinTokenLen is the shortest accepted webhook token or secret, and api.token (128 bits
// as hex would be 32).
const MinTokenLen = 16

func (w Webhooks) validate(v *validator) {
	const at = "$.webhooks"
	if w.DockerHub != nil {
		checkSecret(v, at+".dockerhub.token", "token", w.DockerHub.Token)
		if h := w.DockerHub.Host; h != "" && !validHostPort(h) {
			v.addf(at+".dockerhub.host", "host %q must be a registry host[:port] as clients pull from it, without scheme or path", h)
		}
	}
	if d := w.Distribution; d != nil {
		checkSecret(v, at+".distribution.token", "token", d.Token)
		if d.Host != "" && !validHostPort(d.Host) {
			v.addf(at+".distribution.host", "host %q must be a registry host[:port] as clients pull from it, without scheme or path", d.Host)
		}
	}
	if w.GHCR != nil {
		checkSecret(v, at+".ghcr.secret", "secret", w.GHCR.Secret)
	}
	if w.Quay != nil {
		checkSecret(v, at+".quay.token", "token", w.Quay.Token)
	}
	if w.Harbor != nil {
		checkSecret(v, at+".harbor.token", "token", w.Harbor.Token)
	}
	if w.Gitea != nil {
		checkSecret(v, at+".gitea.secret", "secret", w.Gitea.Secret)
	}
	checkHeaderSource(v, at+".acr", w.ACR)
	if w.JFrog != nil {
		checkSecret(v, at+".jfrog.secret", "secret", w.JFrog.Secret)
	}
	if g := w.GAR; g != nil {
		checkSecret(v, at+".gar.token", "token", g.Token)
		if o := g.OIDC; o != nil {
			if o.Audience == "" {
				v.addf(at+".gar.oidc.audience", "audience is required: the audience set on the Pub/Sub push subscription")
			}
			if o.Email == "" {
				v.addf(at+".gar.oidc.email", "email is required: the push subscription's service account; without it any Google-signed token for the audience would pass")
			}
			if o.KeysFile == "" {
				v.addf(at+".gar.oidc.keys_file", "keys_file is required: a copy of https://www.googleapis.com/oauth2/v3/certs (JWKS) or PEM public keys")
			}
		}
	}
	checkHeaderSource(v, at+".ecr", w.ECR)
	if w.Generic != nil {
		checkSecret(v, at+".generic.secret", "secret", w.Generic.Secret)
	}
	if w.Watchtower != nil {
		checkSecret(v, at+".watchtower.token", "token", w.Watchtower.Token)
	}
	l := w.Limits
	if l.MaxBody < 0 || l.MaxBody > MaxWebhookMaxBody {
		v.addf(at+".limits.max_body", "max_body must be between 1KiB and 32MiB (registry payloads are a few KB; 0 means 1MiB)")
	} else if l.MaxBody > 0 && l.MaxBody < 1<<10 {
		v.addf(at+".limits.max_body", "max_body %d bytes is too small for any registry payload; use at least 1KiB", l.MaxBody)
	}
	if l.Rate < 0 {
		v.addf(at+".limits.rate", "rate must be a positive number of requests per second (0 means %d)", DefaultWebhookRate)
	}
	if l.Burst < 0 {
		v.addf(at+".limits.burst", "burst must be a positive number of requests (0 means %d)", DefaultWebhookBurst)
	}
}

func checkHeaderSource(v *validator, at string, h *HeaderSource) {
	if h == nil {
		return
	}
	checkSecret(v, at+".token", "token", h.Token)
	if h.Header != "" && !validHeaderName(h.Header) {
		v.addf(at+".header", "header %q is not a valid HTTP header name (letters, digits and -)", h.Header)
	}
}

// checkSecret reports an empty or short webhook secret; key is "token" or "secret".
func checkSecret(v *validator, at, key string, s Secret) {
	switch {
	case !s.IsSet():
		v.addf(at, "%s is empty: this source will not be mounted; set a random value (openssl rand -hex 16) or remove the section", key)
	case len(s) < MinTokenLen:
		v.addf(at, "%s is %d characters, so this source will not be mounted; use at least %d random characters (openssl rand -hex 16)", key, len(s), MinTokenLen)
	}
}

func validHostPort(h string) bool {
	if strings.ContainsAny(h, "/@?# ") {
		return false
	}
	u, err := url.Parse("//" + h)
	return err == nil && u.Host == h
}

func validHeaderName(h string) bool {
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return h != ""
}
