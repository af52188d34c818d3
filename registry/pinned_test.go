package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePinned(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct {
		in, name, digest string
	}{
		{"reg.example:5000/team/web:1.2@" + d, "reg.example:5000/team/web:1.2", d},
		{"web@" + d, "web", d},                               // RepoDigests: no tag
		{"localhost:5000/app@" + d, "localhost:5000/app", d}, // a port is not a tag
		{"app:v1@sha512:" + strings.Repeat("c", 128), "app:v1", "sha512:" + strings.Repeat("c", 128)},
		{"app:v1@sha256:ab", "app:v1", "sha256:ab"}, // the length is v1.NewHash's to check
		{"app:v1@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", "app:v1", "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"},
	} {
		p, err := ParsePinned(c.in)
		if err != nil {
			t.Errorf("ParsePinned(%q): %v", c.in, err)
			continue
		}
		if p.Name() != c.name || p.Digest() != c.digest || p.String() != c.in {
			t.Errorf("ParsePinned(%q) = %q, %q, %q", c.in, p.Name(), p.Digest(), p.String())
		}
		if DigestOf(c.in) != c.digest {
			t.Errorf("DigestOf(%q) = %q", c.in, DigestOf(c.in))
		}
	}
}

func TestParsePinnedRefuses(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	long := "reg.example/" + strings.Repeat("a", MaxPinned) + ":1@" + d
	for why, in := range map[string]string{
		"empty":                  "",
		"no digest":              "reg.example/web:1",
		"nothing after @":        "reg.example/web:1@",
		"nothing before @":       "@" + d,
		"only @":                 "@",
		"two @":                  "reg.example/web:1@" + d + "@" + d,
		"@ in the name":          "reg@example/web:1@" + d,
		"no algorithm":           "web:1@:" + strings.Repeat("ab", 32),
		"no encoded part":        "web:1@sha256:",
		"no colon in the digest": "web:1@sha256" + strings.Repeat("ab", 32),
		"upper-case algorithm":   "web:1@SHA256:" + strings.Repeat("ab", 32),
		"separator first":        "web:1@+sha256:ab",
		"separator last":         "web:1@sha256+:ab",
		"two separators":         "web:1@sha+-256:ab",
		"space in the digest":    "web:1@sha256:ab cd",
		"newline in the digest":  "web:1@sha256:ab\ncd",
		"bad name":               "Web App:1@" + d,
		"empty tag":              "web:@" + d,
		"over-long":              long,
	} {
		p, err := ParsePinned(in)
		if err == nil {
			t.Errorf("%s: ParsePinned(%.40q) = %q, want an error", why, in, p)
			continue
		}
		if !errors.Is(err, ErrNotPinned) {
			t.Errorf("%s: %v does not wrap ErrNotPinned", why, err)
		}
		if len(err.Error()) > 2*MaxPinned {
			t.Errorf("%s: the error repeats an over-long input (%d characters)", why, len(err.Error()))
		}
		if DigestOf(in) != "" {
			t.Errorf("%s: DigestOf(%.40q) = %q, want none", why, in, DigestOf(in))
		}
	}
}

func TestPinnedLongest(t *testing.T) {
	in := strings.Repeat("a", 255) + ":" + strings.Repeat("t", 128) + "@sha512:" + strings.Repeat("c", 128)
	if len(in) != MaxPinned {
		t.Fatalf("longest input is %d characters, MaxPinned %d", len(in), MaxPinned)
	}
	if _, err := ParsePinned(in); err != nil {
		t.Errorf("the longest pinned image: %v", err)
	}
	if _, err := ParsePinned("b" + in); err == nil {
		t.Error("one character more is read")
	}
}

func TestPinnedZero(t *testing.T) {
	var p Pinned
	if p.String() != "" || p.Name() != "" || p.Digest() != "" {
		t.Errorf("zero Pinned reads %q", p.String())
	}
}
