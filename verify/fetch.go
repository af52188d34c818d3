package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// The media types and annotations cosign writes.
const (
	BundleType        = "application/vnd.dev.sigstore.bundle.v0.3+json"
	SimpleSigningType = "application/vnd.dev.cosign.simplesigning.v1+json"
	AnnSignature      = "dev.cosignproject.cosign/signature"
	AnnCertificate    = "dev.sigstore.cosign/certificate"
	AnnChain          = "dev.sigstore.cosign/chain"
	AnnTimestamp      = "dev.sigstore.cosign/rfc3161timestamp"
)

// maxSignatures bounds how many signatures of one digest are read; maxBlob bounds each.
const (
	maxSignatures = 8
	maxBlob       = 256 << 10
)

// Registry hands out the ggcr options (an authenticated transport) for a repository.
type Registry interface {
	RemoteOptions(ctx context.Context, repo name.Repository) ([]remote.Option, error)
}

// SigTag is the classic tag cosign stores a digest's signatures under.
func SigTag(repo name.Repository, digest v1.Hash) name.Tag {
	return repo.Tag(fmt.Sprintf("%s-%s.sig", digest.Algorithm, digest.Hex))
}

// classicSig is one layer of a `.sig` manifest.
type classicSig struct {
	payload, sig []byte
	certPEM      []byte
	chainPEM     []byte
	timestamp    []byte // an RFC 3161 response, when there is one
}

// fetcher reads the signatures of one digest and counts its requests.
type fetcher struct {
	opts     []remote.Option
	repo     name.Repository
	digest   v1.Hash
	requests int
}

// bundles reads the sigstore bundles that refer to the digest (OCI 1.1 referrers).
func (f *fetcher) bundles() ([]*bundle.Bundle, error) {
	f.requests++
	idx, err := remote.Referrers(f.repo.Digest(f.digest.String()), f.opts...)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list referrers of %s: %w", f.digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", f.digest, err)
	}
	var out []*bundle.Bundle
	for _, d := range im.Manifests {
		if d.ArtifactType != BundleType || len(out) == maxSignatures {
			continue
		}
		b, err := f.bundle(d.Digest)
		if err != nil {
			return nil, err
		}
		if b != nil {
			out = append(out, b)
		}
	}
	return out, nil
}

func (f *fetcher) bundle(d v1.Hash) (*bundle.Bundle, error) {
	f.requests++
	desc, err := remote.Get(f.repo.Digest(d.String()), f.opts...)
	if err != nil {
		return nil, fmt.Errorf("read referrer %s: %w", d, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil || len(m.Layers) == 0 {
		return nil, nil // not a bundle manifest: ignored
	}
	raw, err := f.blob(m.Layers[0].Digest)
	if err != nil {
		return nil, err
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return &bundle.Bundle{}, nil // unreadable: counted as a signature that fails
	}
	return &b, nil
}

// classic reads the `.sig` tag's signatures.
func (f *fetcher) classic() ([]classicSig, error) {
	f.requests++
	desc, err := remote.Get(SigTag(f.repo, f.digest), f.opts...)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", SigTag(f.repo, f.digest).TagStr(), err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", SigTag(f.repo, f.digest).TagStr(), err)
	}
	var out []classicSig
	for _, l := range m.Layers {
		if len(out) == maxSignatures {
			break
		}
		s, err := base64.StdEncoding.DecodeString(l.Annotations[AnnSignature])
		if err != nil || len(s) == 0 {
			continue
		}
		payload, err := f.blob(l.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, classicSig{payload: payload, sig: s, certPEM: []byte(l.Annotations[AnnCertificate]),
			chainPEM: []byte(l.Annotations[AnnChain]), timestamp: rfc3161(l.Annotations[AnnTimestamp])})
	}
	return out, nil
}

// rfc3161 unwraps cosign's timestamp annotation ({"SignedRFC3161Timestamp": base64}).
func rfc3161(ann string) []byte {
	if ann == "" {
		return nil
	}
	var v struct{ SignedRFC3161Timestamp []byte }
	if json.Unmarshal([]byte(ann), &v) != nil {
		return nil
	}
	return v.SignedRFC3161Timestamp
}

// blob reads one blob; ggcr checks its digest while reading.
func (f *fetcher) blob(d v1.Hash) ([]byte, error) {
	f.requests++
	l, err := remote.Layer(f.repo.Digest(d.String()), f.opts...)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxBlob+1))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	if len(b) > maxBlob {
		return nil, fmt.Errorf("blob %s is larger than %d bytes", d, maxBlob)
	}
	return b, nil
}

func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && (te.StatusCode == http.StatusNotFound)
}
