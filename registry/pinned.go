package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Pinned is an image pinned to a digest, as hoist hands it to an engine and keeps it
// in a record: "repo:tag@sha256:…", or "repo@sha256:…" as an image's RepoDigests
// list it. It keeps both parts as written.
//
// go-containerregistry's name.Digest parses the same text but keeps only the
// repository (the tag, which hoist follows, is dropped) and names it in its canonical
// form, so Pinned checks the name with name.NewTag and keeps the text itself.
type Pinned struct {
	name   string // "repo:tag" or "repo", as written
	digest string // "sha256:…"
}

// MaxPinned is the longest pinned image ParsePinned reads: a repository name of 255
// characters (the engine's limit), a tag of 128 and a sha512 digest, with their
// separators.
const MaxPinned = 255 + 1 + 128 + 1 + len("sha512:") + 128

// ErrNotPinned is what ParsePinned's errors wrap.
var ErrNotPinned = errors.New("not a pinned image (repo:tag@sha256:…)")

// ParsePinned reads a pinned image: exactly one "@", a name the registry would take
// before it (a tag, or a repository alone), a digest after it ("algorithm:encoded",
// as OCI writes them; the encoded part's length is not checked here).
func ParsePinned(s string) (Pinned, error) {
	if len(s) > MaxPinned {
		return Pinned{}, fmt.Errorf("%w: %d characters, more than %d", ErrNotPinned, len(s), MaxPinned)
	}
	left, digest, ok := strings.Cut(s, "@")
	switch {
	case !ok:
		return Pinned{}, fmt.Errorf("%w: %q has no digest", ErrNotPinned, s)
	case strings.Contains(digest, "@"):
		return Pinned{}, fmt.Errorf("%w: %q has more than one @", ErrNotPinned, s)
	case left == "":
		return Pinned{}, fmt.Errorf("%w: %q has no name before its digest", ErrNotPinned, s)
	case !digestLike(digest):
		return Pinned{}, fmt.Errorf("%w: %q is not a digest (algorithm:hex)", ErrNotPinned, digest)
	}
	if _, err := name.NewTag(left, name.WeakValidation); err != nil {
		return Pinned{}, fmt.Errorf("%w: %v", ErrNotPinned, err)
	}
	return Pinned{name: left, digest: digest}, nil
}

// DigestOf is the digest an image is pinned to, or "" when it is not a pinned image.
func DigestOf(image string) string {
	p, err := ParsePinned(image)
	if err != nil {
		return ""
	}
	return p.digest
}

// Name is what comes before the digest, as written: "repo:tag", or "repo".
func (p Pinned) Name() string { return p.name }

// Digest is the digest, "sha256:…".
func (p Pinned) Digest() string { return p.digest }

// String is the pinned image as ParsePinned read it; "" for the zero Pinned.
func (p Pinned) String() string {
	if p.digest == "" {
		return ""
	}
	return p.name + "@" + p.digest
}

// digestLike reports whether d reads "algorithm:encoded" as the OCI image spec writes a
// digest: algorithm components of [a-z0-9] joined by one of "+._-", encoded of
// [a-zA-Z0-9=_-].
func digestLike(d string) bool {
	alg, enc, ok := strings.Cut(d, ":")
	if !ok || alg == "" || enc == "" {
		return false
	}
	prevSep := true // no separator first
	for i := 0; i < len(alg); i++ {
		c := alg[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			prevSep = false
		case strings.IndexByte("+._-", c) >= 0 && !prevSep:
			prevSep = true
		default:
			return false
		}
	}
	if prevSep {
		return false
	}
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("=_-", c) >= 0) {
			return false
		}
	}
	return true
}
