package webhook

import (
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/registry"
)

// Gitea and Forgejo send a `package` event, HMAC-signed, for every manifest PUT: a
// multi-arch push yields digest-named versions for the children and one event for
// the tag. package.version is lowercased by Gitea. The registry host is the
// instance's own, taken from package.html_url.
type giteaPayload struct {
	Action  string `json:"action"`
	Package *struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		HTMLURL string `json:"html_url"`
		Owner   struct {
			Login string `json:"login"`
		} `json:"owner"`
	} `json:"package"`
}

// parseGitea reads a Gitea or Forgejo package event.
func parseGitea(body []byte) ([]registry.PushEvent, error) {
	var p giteaPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	pkg := p.Package
	if pkg == nil || p.Action != "created" || pkg.Type != "container" || untagged(pkg.Version) {
		return nil, nil
	}
	if pkg.Owner.Login == "" || pkg.Name == "" {
		return nil, fmt.Errorf("%w: package has no owner or name", errBadName)
	}
	ev, err := newEvent(urlHost(pkg.HTMLURL), strings.ToLower(pkg.Owner.Login+"/"+pkg.Name), pkg.Version, "")
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}
