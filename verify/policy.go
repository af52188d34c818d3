package verify

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Key is a trusted public key, named after its file.
type Key struct {
	Name     string
	verifier signature.Verifier
}

// ParseKey reads a PEM public key (ECDSA, Ed25519 or RSA).
func ParseKey(name string, pemBytes []byte) (Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", name, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", name, err)
	}
	return Key{Name: name, verifier: v}, nil
}

// Identity is a Fulcio certificate identity: the OIDC issuer, exactly, and a pattern
// the certificate's subject (its SAN: a workflow URL, an email) must match.
type Identity struct {
	Issuer, SubjectRegexp string
	id                    sgverify.CertificateIdentity
}

// NewIdentity checks and compiles an identity.
func NewIdentity(issuer, subjectRegexp string) (Identity, error) {
	if issuer == "" || subjectRegexp == "" {
		return Identity{}, fmt.Errorf("keyless identity needs both issuer and subject_regexp")
	}
	if _, err := regexp.Compile(subjectRegexp); err != nil {
		return Identity{}, fmt.Errorf("subject_regexp: %w", err)
	}
	id, err := sgverify.NewShortCertificateIdentity(issuer, "", "", subjectRegexp)
	if err != nil {
		return Identity{}, fmt.Errorf("keyless identity: %w", err)
	}
	return Identity{Issuer: issuer, SubjectRegexp: subjectRegexp, id: id}, nil
}

func (i Identity) String() string { return fmt.Sprintf("%s (issuer %s)", i.SubjectRegexp, i.Issuer) }

// Spec is a policy as written: file paths and identities.
type Spec struct {
	KeyFiles   []string
	Identities [][2]string // issuer, subject_regexp
	RootFile   string
	RequireAll bool
}

// Policy is what a signature must satisfy: any (or all) of its keys and identities.
type Policy struct {
	Keys       []Key
	Identities []Identity
	Root       root.TrustedMaterial
	RequireAll bool
	// fingerprint names the policy's content in the verdict cache.
	fingerprint string
}

// Load reads a Spec's files and checks everything in it.
func Load(s Spec) (*Policy, error) {
	h := sha256.New()
	p := &Policy{RequireAll: s.RequireAll}
	fmt.Fprintf(h, "all=%t\n", s.RequireAll)
	for _, f := range s.KeyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read key: %w", err)
		}
		k, err := ParseKey(filepath.Base(f), b)
		if err != nil {
			return nil, err
		}
		p.Keys = append(p.Keys, k)
		fmt.Fprintf(h, "key %x\n", sha256.Sum256(b))
	}
	for _, is := range s.Identities {
		id, err := NewIdentity(is[0], is[1])
		if err != nil {
			return nil, err
		}
		p.Identities = append(p.Identities, id)
		fmt.Fprintf(h, "id %q %q\n", is[0], is[1])
	}
	if len(p.Identities) > 0 || s.RootFile != "" {
		if s.RootFile == "" {
			return nil, fmt.Errorf("keyless verification needs trusted_root")
		}
		b, err := os.ReadFile(s.RootFile)
		if err != nil {
			return nil, fmt.Errorf("read trusted root: %w", err)
		}
		tr, err := root.NewTrustedRootFromJSON(b)
		if err != nil {
			return nil, fmt.Errorf("trusted root %s: %w", s.RootFile, err)
		}
		p.Root = tr
		fmt.Fprintf(h, "root %x\n", sha256.Sum256(b))
	}
	if len(p.Keys)+len(p.Identities) == 0 {
		return nil, fmt.Errorf("verify needs at least one cosign key or keyless identity")
	}
	p.fingerprint = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// entries counts what the policy trusts.
func (p *Policy) entries() int { return len(p.Keys) + len(p.Identities) }

// names lists what the policy trusts, for reasons.
func (p *Policy) names() []string {
	var out []string
	for _, k := range p.Keys {
		out = append(out, "key "+k.Name)
	}
	for _, i := range p.Identities {
		out = append(out, "identity "+i.String())
	}
	return out
}
