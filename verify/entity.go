package verify

import (
	"crypto/x509"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// classicEntity presents a `.sig` layer (certificate, signature, optional RFC 3161
// timestamp) to sigstore-go's verifier.
type classicEntity struct {
	cert *x509.Certificate
	msg  *bundle.MessageSignature
	ts   [][]byte
}

func (e *classicEntity) HasInclusionPromise() bool { return false }
func (e *classicEntity) HasInclusionProof() bool   { return false }
func (e *classicEntity) SignatureContent() (sgverify.SignatureContent, error) {
	return e.msg, nil
}
func (e *classicEntity) Timestamps() ([][]byte, error)       { return e.ts, nil }
func (e *classicEntity) TlogEntries() ([]*tlog.Entry, error) { return nil, nil }
func (e *classicEntity) Version() (string, error)            { return "v0.3", nil }
func (e *classicEntity) VerificationContent() (sgverify.VerificationContent, error) {
	return bundle.NewCertificate(e.cert), nil
}
