package testenv

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// The identities the signers use: a GitHub Actions release workflow of acme's (which
// IdentityRegexp admits) and one of someone else's.
const (
	Issuer         = "https://token.actions.githubusercontent.com"
	GoodIdentity   = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"
	OtherIdentity  = "https://github.com/mallory/app/.github/workflows/release.yml@refs/tags/v1"
	IdentityRegexp = `^https://github\.com/acme/.+/\.github/workflows/release\.yml@refs/tags/v`
)

// What cosign writes, from its format rather than from hoist's code.
const (
	bundleType        = "application/vnd.dev.sigstore.bundle.v0.3+json"
	simpleSigningType = "application/vnd.dev.cosign.simplesigning.v1+json"
	annSignature      = "dev.cosignproject.cosign/signature"
	annCertificate    = "dev.sigstore.cosign/certificate"
	annTimestamp      = "dev.sigstore.cosign/rfc3161timestamp"
)

// SigTag is the classic tag cosign stores digest d's signatures under.
func SigTag(repo name.Repository, d v1.Hash) name.Tag {
	return repo.Tag(d.Algorithm + "-" + d.Hex + ".sig")
}

// Signer signs images in a registry the ways cosign does, for tests. It signs with a
// key pair, another key, a virtual Sigstore (Fulcio, TSA) and a second Fulcio whose
// certificates are already expired, and writes the public key and a trusted root
// holding both Fulcios and the TSA to files, as an operator would.
type Signer struct {
	t                 testing.TB
	Reg               *Registry
	key, other        *ecdsa.PrivateKey
	vs                *ca.VirtualSigstore
	oldInter          *x509.Certificate
	oldKey            *ecdsa.PrivateKey
	KeyFile, RootFile string
}

// NewSigner builds the signers for images in reg.
func NewSigner(t testing.TB, reg *Registry) *Signer {
	t.Helper()
	s := &Signer{t: t, Reg: reg}
	var err error
	s.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s.other, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if s.vs, err = ca.NewVirtualSigstore(); err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	if s.oldInter, s.oldKey, err = ca.GenerateFulcioIntermediate(rootCert, rootKey); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(s.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	s.KeyFile = filepath.Join(dir, "cosign.pub")
	mustDo(t, os.WriteFile(s.KeyFile, pemBytes, 0o600))
	cas := append(s.vs.FulcioCertificateAuthorities(), &root.FulcioCertificateAuthority{
		Root: rootCert, Intermediates: []*x509.Certificate{s.oldInter},
		ValidityPeriodStart: time.Now().Add(-3 * time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour),
	})
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, s.vs.CTLogs(), s.vs.TimestampingAuthorities(), s.vs.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	js, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s.RootFile = filepath.Join(dir, "trusted_root.json")
	mustDo(t, os.WriteFile(s.RootFile, js, 0o600))
	return s
}

// Push writes a new random image to repo and returns its digest.
func (s *Signer) Push(repo string) (name.Repository, v1.Hash) {
	s.t.Helper()
	r, err := name.NewRepository(s.Reg.Host + "/" + repo)
	mustDo(s.t, err)
	img, err := random.Image(512, 1)
	mustDo(s.t, err)
	mustDo(s.t, remote.Write(r.Tag("latest"), img))
	d, err := img.Digest()
	mustDo(s.t, err)
	return r, d
}

// Payload is cosign's simple-signing document for digest in repo.
func Payload(repo name.Repository, d v1.Hash) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		repo.Name(), d.String())
}

// Layer is one classic signature layer.
type Layer struct {
	Payload []byte
	Ann     map[string]string
}

// SignKey signs payload with the trusted key (or the other one).
func (s *Signer) SignKey(payload []byte, other bool) Layer {
	k := s.key
	if other {
		k = s.other
	}
	sv, err := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	mustDo(s.t, err)
	sig, err := sv.SignMessage(bytes.NewReader(payload))
	mustDo(s.t, err)
	return Layer{Payload: payload, Ann: map[string]string{annSignature: base64.StdEncoding.EncodeToString(sig)}}
}

// SignKeyless signs payload with a fresh Fulcio certificate for identity, with a TSA
// timestamp.
func (s *Signer) SignKeyless(payload []byte, identity string) Layer {
	e, err := s.vs.Sign(identity, Issuer, payload)
	mustDo(s.t, err)
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	ts, _ := e.Timestamps()
	certPEM, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	mustDo(s.t, err)
	tsJSON, _ := json.Marshal(struct{ SignedRFC3161Timestamp []byte }{ts[0]})
	return Layer{Payload: payload, Ann: map[string]string{
		annSignature:   base64.StdEncoding.EncodeToString(sc.Signature()),
		annCertificate: string(certPEM),
		annTimestamp:   string(tsJSON),
	}}
}

// SignExpired signs payload with a certificate that expired 50 minutes ago, with no
// timestamp.
func (s *Signer) SignExpired(payload []byte, identity string) Layer {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert, err := ca.GenerateLeafCert(identity, Issuer, time.Now().Add(-time.Hour), priv, s.oldInter, s.oldKey)
	mustDo(s.t, err)
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	mustDo(s.t, err)
	sig, err := sv.SignMessage(bytes.NewReader(payload))
	mustDo(s.t, err)
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	mustDo(s.t, err)
	return Layer{Payload: payload, Ann: map[string]string{
		annSignature: base64.StdEncoding.EncodeToString(sig), annCertificate: string(certPEM)}}
}

// PutClassic writes layers as the `.sig` tag of digest d in repo.
func (s *Signer) PutClassic(repo name.Repository, d v1.Hash, layers ...Layer) {
	s.t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.Payload, simpleSigningType), Annotations: l.Ann})
		mustDo(s.t, err)
	}
	mustDo(s.t, remote.Write(SigTag(repo, d), img))
}

// Statement is an in-toto statement naming digest d of repo, as cosign 3 signs it.
func Statement(repo name.Repository, d v1.Hash) []byte {
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
		repo.Name(), d.Hex)
}

// BundleKeyless signs statement as a DSSE envelope in a sigstore bundle (v0.3) with a
// Fulcio certificate for identity and a TSA timestamp.
func (s *Signer) BundleKeyless(statement []byte, identity string) []byte {
	e, err := s.vs.Attest(identity, Issuer, statement)
	mustDo(s.t, err)
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	ts, _ := e.Timestamps()
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	mustDo(s.t, err)
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	mustDo(s.t, err)
	pb := &protobundle.Bundle{
		MediaType: bundleType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TimestampVerificationData: &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts[0]}}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}},
	}
	b, err := bundle.NewBundle(pb)
	mustDo(s.t, err)
	js, err := b.MarshalJSON()
	mustDo(s.t, err)
	return js
}

// PutBundle attaches a bundle to digest d of repo as an OCI 1.1 referrer.
func (s *Signer) PutBundle(repo name.Repository, d v1.Hash, bundleJSON []byte) {
	s.t.Helper()
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer(bundleJSON, types.MediaType(bundleType))})
	mustDo(s.t, err)
	img = mutate.ConfigMediaType(img, types.MediaType(bundleType))
	subj, err := remote.Head(repo.Digest(d.String()))
	mustDo(s.t, err)
	img = mutate.Subject(img, *subj).(v1.Image)
	dg, err := img.Digest()
	mustDo(s.t, err)
	mustDo(s.t, remote.Write(repo.Digest(dg.String()), img))
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
