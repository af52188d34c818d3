package webhook

import (
	"fmt"

	"github.com/hoist-dev/hoist/registry"
)

// Docker Hub cannot sign or send headers: the token is part of the URL path.
// pushed_at and date_created are not decoded at all, so their int-or-float drift
// (1417566161 or 1.417566161e+09) cannot fail a delivery. callback_url is ignored on
// purpose: it is a legacy feature, and following it would make hoist an SSRF client.
type dockerHubPayload struct {
	PushData struct {
		Tag string `json:"tag"`
	} `json:"push_data"`
	Repository struct {
		RepoName  string `json:"repo_name"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"repository"`
}

// parseDockerHub reads a Docker Hub repository webhook. One push, one tag.
func parseDockerHub(body []byte) ([]registry.PushEvent, error) { return parseDockerHubHost(body, "") }

// parseDockerHubHost is parseDockerHub for images pulled through another registry host
// (a Docker Hub mirror); "" means docker.io.
func parseDockerHubHost(body []byte, host string) ([]registry.PushEvent, error) {
	if host == "" {
		host = "docker.io"
	}
	var p dockerHubPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	repo := p.Repository.RepoName
	if repo == "" && p.Repository.Name != "" {
		repo = p.Repository.Namespace + "/" + p.Repository.Name
	}
	if repo == "" {
		return nil, fmt.Errorf("%w: no repository.repo_name", errBadName)
	}
	if p.PushData.Tag == "" {
		return nil, nil
	}
	ev, err := newEvent(host, repo, p.PushData.Tag, "")
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}
