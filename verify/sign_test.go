package verify_test

import (
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

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/verify"
)

const (
	issuer   = "https://token.actions.githubusercontent.com"
	goodID   = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"
	otherID  = "https://github.com/mallory/app/.github/workflows/release.yml@refs/tags/v1"
	idRegexp = `^https://github\.com/acme/.+/\.github/workflows/release\.yml@refs/tags/v`
)

// Signer is everything the tests sign with: a key pair, another key, a virtual
// Sigstore (Fulcio, TSA) and a second Fulcio whose certificates are already expired.
// It writes the public key and the trusted root to files, as an operator would.
type Signer struct {
	t                 testing.TB
	Reg               *testenv.Registry
	key, other        *ecdsa.PrivateKey
	vs                *ca.VirtualSigstore
	oldInter          *x509.Certificate
	oldKey            *ecdsa.PrivateKey
	KeyFile, RootFile string
}

// NewSigner builds the signers and an in-process registry.
func NewSigner(t testing.TB) *Signer {
	t.Helper()
	s := &Signer{t: t, Reg: testenv.NewRegistry(t)}
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
	must(t, os.WriteFile(s.KeyFile, pemBytes, 0o600))
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
	must(t, os.WriteFile(s.RootFile, js, 0o600))
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Push writes a new random image to repo and returns its digest.
func (s *Signer) Push(repo string) (name.Repository, v1.Hash) {
	s.t.Helper()
	r, err := name.NewRepository(s.Reg.Host + "/" + repo)
	must(s.t, err)
	img, err := random.Image(512, 1)
	must(s.t, err)
	must(s.t, remote.Write(r.Tag("latest"), img))
	d, err := img.Digest()
	must(s.t, err)
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
	must(s.t, err)
	sig, err := sv.SignMessage(bytesReader(payload))
	must(s.t, err)
	return Layer{Payload: payload, Ann: map[string]string{verify.AnnSignature: base64.StdEncoding.EncodeToString(sig)}}
}

// SignKeyless signs payload with a fresh Fulcio certificate for identity, with a TSA
// timestamp.
func (s *Signer) SignKeyless(payload []byte, identity string) Layer {
	e, err := s.vs.Sign(identity, issuer, payload)
	must(s.t, err)
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	ts, _ := e.Timestamps()
	certPEM, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	must(s.t, err)
	tsJSON, _ := json.Marshal(struct{ SignedRFC3161Timestamp []byte }{ts[0]})
	return Layer{Payload: payload, Ann: map[string]string{
		verify.AnnSignature:   base64.StdEncoding.EncodeToString(sc.Signature()),
		verify.AnnCertificate: string(certPEM),
		verify.AnnTimestamp:   string(tsJSON),
	}}
}

// SignExpired signs payload with a certificate that expired 50 minutes ago, with no
// timestamp.
func (s *Signer) SignExpired(payload []byte, identity string) Layer {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert, err := ca.GenerateLeafCert(identity, issuer, time.Now().Add(-time.Hour), priv, s.oldInter, s.oldKey)
	must(s.t, err)
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	must(s.t, err)
	sig, err := sv.SignMessage(bytesReader(payload))
	must(s.t, err)
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	must(s.t, err)
	return Layer{Payload: payload, Ann: map[string]string{
		verify.AnnSignature: base64.StdEncoding.EncodeToString(sig), verify.AnnCertificate: string(certPEM)}}
}

// PutClassic writes layers as the `.sig` tag of digest d in repo.
func (s *Signer) PutClassic(repo name.Repository, d v1.Hash, layers ...Layer) {
	s.t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.Payload, verify.SimpleSigningType), Annotations: l.Ann})
		must(s.t, err)
	}
	must(s.t, remote.Write(verify.SigTag(repo, d), img))
}

// Statement is an in-toto statement naming digest d of repo, as cosign 3 signs it.
func Statement(repo name.Repository, d v1.Hash) []byte {
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
		repo.Name(), d.Hex)
}

// BundleKeyless signs statement as a DSSE envelope in a sigstore bundle (v0.3) with a
// Fulcio certificate for identity and a TSA timestamp.
func (s *Signer) BundleKeyless(statement []byte, identity string) []byte {
	e, err := s.vs.Attest(identity, issuer, statement)
	must(s.t, err)
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	ts, _ := e.Timestamps()
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	must(s.t, err)
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	must(s.t, err)
	pb := &protobundle.Bundle{
		MediaType: verify.BundleType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TimestampVerificationData: &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts[0]}}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}},
	}
	b, err := bundle.NewBundle(pb)
	must(s.t, err)
	js, err := b.MarshalJSON()
	must(s.t, err)
	return js
}

// PutBundle attaches a bundle to digest d of repo as an OCI 1.1 referrer.
func (s *Signer) PutBundle(repo name.Repository, d v1.Hash, bundleJSON []byte) {
	s.t.Helper()
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer(bundleJSON, types.MediaType(verify.BundleType))})
	must(s.t, err)
	img = mutate.ConfigMediaType(img, types.MediaType(verify.BundleType))
	subj, err := remote.Head(repo.Digest(d.String()))
	must(s.t, err)
	img = mutate.Subject(img, *subj).(v1.Image)
	dg, err := img.Digest()
	must(s.t, err)
	must(s.t, remote.Write(repo.Digest(dg.String()), img))
}
