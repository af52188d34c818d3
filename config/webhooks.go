package config

// Webhooks holds one entry per webhook source. A source without a secret is not mounted.
type Webhooks struct {
	// DockerHub: POST /webhooks/dockerhub/<token>. Docker Hub cannot sign, so the
	// token is a high-entropy secret in the URL path.
	DockerHub *TokenSource `yaml:"dockerhub" json:"dockerhub,omitempty"`
	// Distribution (registry 2.x/3.x notifications): Authorization: Bearer <token>.
	Distribution *TokenSource `yaml:"distribution" json:"distribution,omitempty"`
}

// TokenSource is a source authenticated by a static token.
type TokenSource struct {
	Token Secret `yaml:"token" json:"token"`
}

// MinTokenLen is the shortest accepted webhook token (128 bits as hex would be 32).
const MinTokenLen = 16

func (w Webhooks) validate(v *validator) {
	checkToken(v, "$.webhooks.dockerhub", w.DockerHub)
	checkToken(v, "$.webhooks.distribution", w.Distribution)
}

func checkToken(v *validator, at string, s *TokenSource) {
	if s == nil {
		return
	}
	switch {
	case !s.Token.IsSet():
		v.addf(at+".token", "token is empty: this source will not be mounted; set a random value (openssl rand -hex 16) or remove the section")
	case len(s.Token) < MinTokenLen:
		v.addf(at+".token", "token is %d characters; use at least %d random characters (openssl rand -hex 16)", len(s.Token), MinTokenLen)
	}
}
