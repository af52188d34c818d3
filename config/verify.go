package config

import (
	"os"
	"regexp"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Verify makes a policy roll out only digests signed as it says (cosign / sigstore).
type Verify struct {
	// Cosign lists who may sign: public keys and Fulcio certificate identities.
	Cosign []Cosign `yaml:"cosign" json:"cosign"`
	// TrustedRoot is a sigstore trusted_root.json (read offline), needed by keyless entries.
	TrustedRoot string `yaml:"trusted_root" json:"trusted_root,omitempty"`
	// Require is any (one entry suffices, the default) or all (every entry must sign).
	Require string `yaml:"require" json:"require,omitempty"`
	// Wait is how long an unsigned digest is held for its signature (default 10m).
	Wait Duration `yaml:"wait" json:"wait"`
}

// Cosign is one trusted signer: a key file or a keyless identity.
type Cosign struct {
	Key     string   `yaml:"key" json:"key,omitempty"`
	Keyless *Keyless `yaml:"keyless" json:"keyless,omitempty"`
}

// Keyless is a Fulcio certificate identity: the OIDC issuer and a pattern for the
// certificate's subject (a workflow URL, an email).
type Keyless struct {
	Issuer        string `yaml:"issuer" json:"issuer"`
	SubjectRegexp string `yaml:"subject_regexp" json:"subject_regexp"`
}

// DefaultVerifyWait is how long an unsigned digest waits for its signature.
const DefaultVerifyWait = Duration(10 * time.Minute)

// WaitOrDefault is Wait, or DefaultVerifyWait when unset.
func (vf *Verify) WaitOrDefault() Duration {
	if vf.Wait.D() > 0 {
		return vf.Wait
	}
	return DefaultVerifyWait
}

// validate checks the entries and reads the key and root files: a key that does not
// parse fails at start, not at the first push.
func (vf *Verify) validate(v *validator, at string) {
	if vf == nil {
		return
	}
	if len(vf.Cosign) == 0 {
		v.addf(at+".cosign", "verify needs at least one cosign entry: a key: path or a keyless: identity")
	}
	keyless := false
	for i, c := range vf.Cosign {
		p := pathf("%s.cosign[%d]", at, i)
		switch {
		case (c.Key == "") == (c.Keyless == nil):
			v.addf(p, "write either key: <path to a PEM public key> or keyless: {issuer, subject_regexp}")
		case c.Key != "":
			validateKeyFile(v, p+".key", c.Key)
		default:
			keyless = true
			c.Keyless.validate(v, p+".keyless")
		}
	}
	switch vf.Require {
	case "", "any", "all":
	default:
		v.addf(at+".require", "require %q: use any (one entry suffices) or all", vf.Require)
	}
	if vf.Wait.D() < 0 {
		v.addf(at+".wait", "wait %s is negative", vf.Wait.D())
	}
	switch {
	case vf.TrustedRoot != "":
		if _, err := root.NewTrustedRootFromPath(vf.TrustedRoot); err != nil {
			v.addf(at+".trusted_root", "trusted root %s: %v", vf.TrustedRoot, err)
		}
	case keyless:
		v.addf(at+".trusted_root", "keyless entries need trusted_root: a sigstore trusted_root.json (cosign trusted-root create, or the public one from sigstore's TUF repository)")
	}
}

func validateKeyFile(v *validator, at, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		v.addf(at, "read key: %v", err)
		return
	}
	if _, err := cryptoutils.UnmarshalPEMToPublicKey(b); err != nil {
		v.addf(at, "key %s is not a PEM public key (ECDSA, Ed25519 or RSA): %v", path, err)
	}
}

func (k *Keyless) validate(v *validator, at string) {
	if k.Issuer == "" {
		v.addf(at+".issuer", "issuer is required, e.g. https://token.actions.githubusercontent.com")
	}
	if k.SubjectRegexp == "" {
		v.addf(at+".subject_regexp", "subject_regexp is required, e.g. ^https://github\\.com/acme/.+@refs/tags/v")
	} else if _, err := regexp.Compile(k.SubjectRegexp); err != nil {
		v.addf(at+".subject_regexp", "subject_regexp: %v", err)
	}
}
