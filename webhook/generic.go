package webhook

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hoist-dev/hoist/registry"
)

// The generic source is for CI jobs and anything else that can sign:
// {"image":"registry.example.com/team/app:1.2.3"} with
// X-Hoist-Signature: sha256=<hex HMAC-SHA256 of the body>. An optional
// X-Hoist-Delivery header is used for dedupe.
type genericPayload struct {
	Image string `json:"image"`
}

// parseGeneric reads {"image":"repo:tag"}. The tag must be explicit.
func parseGeneric(body []byte) ([]registry.PushEvent, error) {
	var p genericPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	if p.Image == "" {
		return nil, fmt.Errorf("%w: image is required, as repository:tag", errBadName)
	}
	last := p.Image[strings.LastIndexByte(p.Image, '/')+1:]
	if !strings.Contains(last, ":") || strings.Contains(p.Image, "@") {
		return nil, fmt.Errorf("%w: image %q needs an explicit tag and no digest (repository:tag)", errBadName, p.Image)
	}
	ref, err := name.NewTag(p.Image)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadName, err)
	}
	ev, err := newEvent(ref.RegistryStr(), ref.RepositoryStr(), ref.TagStr(), "")
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}
