package webhook

import (
	"github.com/hoist-dev/hoist/registry"
)

// Artifactory sends X-JFrog-Event-Auth: the secret itself, or with "use secret for
// payload signing" the hex HMAC-SHA256 of the body. Only docker/pushed is a hint.
// The image is addressed the repository-path way: <jpd host>/<repo_key>/<image_name>.
type jfrogPayload struct {
	Domain    string `json:"domain"`
	EventType string `json:"event_type"`
	Data      struct {
		RepoKey   string `json:"repo_key"`
		ImageName string `json:"image_name"`
		Tag       string `json:"tag"`
	} `json:"data"`
	JPDOrigin string `json:"jpd_origin"`
}

// parseJFrog reads an Artifactory docker-domain webhook.
func parseJFrog(body []byte) ([]registry.PushEvent, error) {
	var p jfrogPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	if p.Domain != "docker" || p.EventType != "pushed" || p.Data.Tag == "" {
		return nil, nil
	}
	ev, err := newEvent(urlHost(p.JPDOrigin), p.Data.RepoKey+"/"+p.Data.ImageName, p.Data.Tag, "")
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}
