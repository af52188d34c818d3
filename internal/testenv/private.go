package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushPrivate pushes img as ref to a plain-HTTP registry that requires credentials
// (the multi-node cluster's) and returns the pinned image, ref@digest.
func PushPrivate(t testing.TB, ref string, img v1.Image, user, pass string) string {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})
	if err := remote.Write(tag, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref + "@" + d.String()
}

// BinaryImage is an image of one static binary at /<base name of path> with empty /tmp
// and /data directories, entrypoint as given.
func BinaryImage(t testing.TB, path string, entrypoint []string) v1.Image {
	t.Helper()
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, cf := binaryBase(t, filepath.Base(path), bin, 0o1777)
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = entrypoint
	cf.Config.Env = []string{"PATH=/"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
