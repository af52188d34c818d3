package updater

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A cycle compares and prints digests without v1.Hash.String; what it builds must be
// what String would.
func TestDigestStrings(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	for _, tc := range []struct {
		s    string
		d    v1.Hash
		same bool
	}{
		{h.String(), h, true},
		{"", h, false},
		{"sha256:" + strings.Repeat("ab", 31), h, false},
		{"sha512:" + h.Hex, h, false},
		{"sha256-" + h.Hex, h, false},
		{"sha256:" + h.Hex + "0", h, false},
		{":", v1.Hash{}, true},
		{"", v1.Hash{}, false},
	} {
		if got := sameDigest(tc.s, tc.d); got != tc.same || got != (tc.s == tc.d.String()) {
			t.Errorf("sameDigest(%q, %s) = %v, want %v", tc.s, tc.d, got, tc.same)
		}
	}
	tag, err := name.NewTag("registry.example.com/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := (Target{Tag: tag, Digest: h}).Image(), tag.String()+"@"+h.String(); got != want {
		t.Errorf("Target.Image() = %q, want %q", got, want)
	}
}
