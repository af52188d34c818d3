package verify

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// bundled judges one sigstore bundle found among the digest's referrers. sigstore-go
// checks that it signs this digest (a DSSE statement's subject or a message digest).
func (p *Policy) bundled(s subject, b *bundle.Bundle) judgement {
	j := judgement{matched: map[int]string{}}
	if b == nil || b.Bundle == nil {
		j.why = "1 unreadable sigstore bundle"
		return j
	}
	raw, err := hex.DecodeString(s.digest.Hex)
	if err != nil {
		j.why = "digest is not hex"
		return j
	}
	art := sgverify.WithArtifactDigest(s.digest.Algorithm, raw)
	vc, err := b.VerificationContent()
	if err != nil {
		j.why = fmt.Sprintf("1 bundle without usable verification material: %v", err)
		return j
	}
	if cert := vc.Certificate(); cert != nil {
		return p.keyless(s, b, cert, art, nil)
	}
	for i, k := range p.Keys {
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
		})
		v, err := sgverify.NewVerifier(tm, sgverify.WithNoObserverTimestamps())
		if err != nil {
			continue
		}
		res, err := v.Verify(b, sgverify.NewPolicy(art, sgverify.WithKey()))
		if err != nil {
			continue
		}
		if why := s.claimsOf(res, nil); why != "" {
			j.why = fmt.Sprintf("1 signature by key %s, but %s", k.Name, why)
			return judgement{matched: map[int]string{}, why: j.why}
		}
		j.matched[i] = "key " + k.Name
	}
	if len(j.matched) == 0 {
		j.why = "1 bundle signed by another key, or for another digest"
	}
	return j
}
