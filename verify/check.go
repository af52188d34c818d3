package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// subject is what a signature must be about: this digest in this repository.
type subject struct {
	repo   name.Repository
	digest v1.Hash
}

// judgement is what one signature proved: the policy entries it satisfies (by index,
// with who signed) or, when none, why not.
type judgement struct {
	matched map[int]string
	why     string
}

// simpleSigning is the part of cosign's payload that names what was signed.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
	} `json:"critical"`
}

// claims checks that a verified payload names the subject; "" when it does.
func (s subject) claims(payload []byte) string {
	var ss simpleSigning
	if err := json.Unmarshal(payload, &ss); err != nil {
		return "its payload is not a cosign simple-signing document"
	}
	if got := ss.Critical.Image.DockerManifestDigest; got != s.digest.String() {
		return fmt.Sprintf("it signs another digest (%s)", clip(got))
	}
	r, err := name.NewRepository(ss.Critical.Identity.DockerReference)
	if err != nil || r.Name() != s.repo.Name() {
		return fmt.Sprintf("it signs another repository (%s)", clip(ss.Critical.Identity.DockerReference))
	}
	return ""
}

// classic judges one signature from the `.sig` tag.
func (p *Policy) classic(s subject, c classicSig) judgement {
	j := judgement{matched: map[int]string{}}
	if len(bytes.TrimSpace(c.certPEM)) == 0 {
		for i, k := range p.Keys {
			if k.verifier.VerifySignature(bytes.NewReader(c.sig), bytes.NewReader(c.payload)) != nil {
				continue
			}
			if why := s.claims(c.payload); why != "" {
				j.why = fmt.Sprintf("1 signature by key %s, but %s", k.Name, why)
				return j
			}
			j.matched[i] = "key " + k.Name
		}
		if len(j.matched) == 0 {
			j.why = "1 signature by another key (or over a changed payload)"
		}
		return j
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(c.certPEM)
	if err != nil || len(certs) == 0 {
		j.why = "1 signature with an unreadable certificate"
		return j
	}
	digest := sha256.Sum256(c.payload)
	e := &classicEntity{cert: certs[0], msg: bundle.NewMessageSignature(digest[:], "SHA2_256", c.sig)}
	if c.timestamp != nil {
		e.ts = [][]byte{c.timestamp}
	}
	return p.keyless(s, e, certs[0], sgverify.WithArtifact(bytes.NewReader(c.payload)), c.payload)
}

// keyless judges a certificate-backed signature against each identity. payload is the
// simple-signing document when there is one (classic form); nil for a bundle.
func (p *Policy) keyless(s subject, e sgverify.SignedEntity, cert *x509.Certificate, art sgverify.ArtifactPolicyOption, payload []byte) judgement {
	j := judgement{matched: map[int]string{}}
	if len(p.Identities) == 0 {
		j.why = "1 keyless signature, but only keys are trusted"
		return j
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		j.why = fmt.Sprintf("1 signature with an unreadable certificate: %v", err)
		return j
	}
	who := fmt.Sprintf("%s (issuer %s)", clip(sum.SubjectAlternativeName), clip(sum.Issuer))
	tss, _ := e.Timestamps()
	tls, _ := e.TlogEntries()
	for i, id := range p.Identities {
		if err := id.id.Verify(sum); err != nil {
			j.why = "1 signature by another identity: " + who
			continue
		}
		if len(tss) == 0 && len(tls) == 0 && time.Now().After(cert.NotAfter) {
			j.why = fmt.Sprintf("1 signature by %s whose certificate expired at %s, with no timestamp showing it was made before",
				who, cert.NotAfter.UTC().Format(time.RFC3339))
			continue
		}
		v, err := sgverify.NewVerifier(p.Root, timeOptions(len(tss) > 0, len(tls) > 0)...)
		if err != nil {
			j.why = fmt.Sprintf("verifier: %v", err)
			continue
		}
		res, err := v.Verify(e, sgverify.NewPolicy(art, sgverify.WithCertificateIdentity(id.id)))
		if err != nil {
			j.why = fmt.Sprintf("1 signature by %s that does not verify (tampered payload or untrusted chain): %v", who, err)
			continue
		}
		if why := s.claimsOf(res, payload); why != "" {
			j.why = fmt.Sprintf("1 signature by %s, but %s", who, why)
			return judgement{matched: map[int]string{}, why: j.why}
		}
		j.matched[len(p.Keys)+i] = "identity " + who
	}
	if len(j.matched) > 0 {
		j.why = ""
	}
	return j
}

// claimsOf checks the subject in what sigstore-go verified: the simple-signing payload,
// or the in-toto statement's subject name (its digest sigstore-go already matched).
func (s subject) claimsOf(res *sgverify.VerificationResult, payload []byte) string {
	if payload != nil {
		return s.claims(payload)
	}
	if res.Statement == nil {
		return ""
	}
	for _, sub := range res.Statement.Subject {
		if sub.Name == "" {
			continue
		}
		r, err := name.NewRepository(sub.Name)
		if err != nil || r.Name() != s.repo.Name() {
			return fmt.Sprintf("it signs another repository (%s)", clip(sub.Name))
		}
	}
	return ""
}

// timeOptions: a timestamp (TSA or log) when the signature carries one, else the
// certificate must be valid now.
func timeOptions(tsa, tlog bool) []sgverify.VerifierOption {
	var o []sgverify.VerifierOption
	if tsa {
		o = append(o, sgverify.WithSignedTimestamps(1))
	}
	if tlog {
		o = append(o, sgverify.WithTransparencyLog(1))
	}
	if !tsa && !tlog {
		o = append(o, sgverify.WithCurrentTime())
	}
	return o
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
