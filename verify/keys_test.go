package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hoist-dev/hoist/internal/testenv"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/verify"
)

// Ed25519 and RSA keys verify as ECDSA ones do.
func TestVerifyKeyTypes(t *testing.T) {
	s := testenv.NewSigner(t, testenv.NewRegistry(t))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	mustOK(t, err)
	for _, k := range []struct {
		name string
		priv crypto.Signer
	}{{"ed25519", edKey}, {"rsa", rsaKey}} {
		t.Run(k.name, func(t *testing.T) {
			pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(k.priv.Public())
			mustOK(t, err)
			file := filepath.Join(t.TempDir(), k.name+".pub")
			mustOK(t, os.WriteFile(file, pemBytes, 0o600))
			p, err := verify.Load(verify.Spec{KeyFiles: []string{file}})
			mustOK(t, err)
			sv, err := signature.LoadSigner(k.priv, crypto.SHA256)
			mustOK(t, err)
			r, d := s.Push("keys/" + k.name)
			payload := testenv.Payload(r, d)
			sig, err := sv.SignMessage(bytes.NewReader(payload))
			mustOK(t, err)
			s.PutClassic(r, d, testenv.Layer{Payload: payload, Ann: map[string]string{verify.AnnSignature: base64.StdEncoding.EncodeToString(sig)}})
			got, err := verify.New(registry.New(registry.Options{})).Verify(context.Background(), p, r, d)
			mustOK(t, err)
			if got.State != verify.Verified || got.By[0] != "key "+k.name+".pub" {
				t.Fatalf("%+v, want verified by key %s.pub", got, k.name)
			}
		})
	}
}
