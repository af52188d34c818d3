package composefile

import (
	"strings"

	"github.com/distribution/reference"
)

// imageRef is an image reference's repository and tag, the parts compose resolves.
type imageRef struct {
	name   string // normalized repository (docker.io/library/nginx)
	tag    string // "latest" when none is written
	digest string
}

func parseRef(s string) (imageRef, error) {
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return imageRef{}, err
	}
	r := imageRef{name: n.Name(), tag: "latest"}
	if t, ok := n.(reference.Tagged); ok {
		r.tag = t.Tag()
	}
	if d, ok := n.(reference.Digested); ok {
		r.digest = d.Digest().String()
	}
	return r, nil
}

// sameTag reports whether two references name the same repository and tag.
func (r imageRef) sameTag(o imageRef) bool { return r.name == o.name && r.tag == o.tag }

// withTag rewrites value, an image reference as the file spells it, to name tag (and
// digest, when value pinned one), keeping the rest of its spelling.
func withTag(value, tag, digest string) string {
	base, pinned, hasDigest := strings.Cut(value, "@")
	slash := strings.LastIndexByte(base, '/')
	if colon := strings.LastIndexByte(base, ':'); colon > slash {
		base = base[:colon]
	}
	out := base + ":" + tag
	if hasDigest && pinned != "" && digest != "" {
		out += "@" + digest
	}
	return out
}

// SameTag reports whether two image references name the same repository and tag
// (digests aside): false when either does not parse.
func SameTag(a, b string) bool {
	ra, err := parseRef(a)
	if err != nil {
		return false
	}
	rb, err := parseRef(b)
	return err == nil && ra.sameTag(rb)
}
