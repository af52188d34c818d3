package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// A policy's verify: block parses, reads its key file at validation, and reports each
// mistake at its line.
func TestParseVerify(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(key, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	good := "policies:\n  - name: web\n    match: {services: [web]}\n    update: digest\n    verify:\n      cosign:\n        - key: " + key + "\n      wait: 30s\n"
	cfg, err := Parse("hoist.yaml", []byte(good), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	vf := cfg.Policies[0].Verify
	if vf == nil || vf.Cosign[0].Key != key || vf.WaitOrDefault().D().Seconds() != 30 {
		t.Fatalf("verify = %+v", vf)
	}
	bad := "policies:\n  - name: web\n    match: {services: [web]}\n    update: digest\n    verify:\n      cosign:\n        - key: " + filepath.Join(dir, "missing.pub") +
		"\n        - keyless: {issuer: https://token.actions.githubusercontent.com, subject_regexp: '(['}\n      require: most\n      colour: red\n"
	_, err = Parse("hoist.yaml", []byte(bad), env(nil))
	if err == nil {
		t.Fatal("bad verify block accepted")
	}
	for _, want := range []string{"hoist.yaml:7", "read key", "subject_regexp", "require \"most\"", "trusted_root", "colour"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
