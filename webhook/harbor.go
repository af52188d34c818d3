package webhook

import (
	"strings"

	"github.com/hoist-dev/hoist/registry"
)

// Harbor sends the policy's Auth Header verbatim as Authorization. Three shapes carry
// the same event data: the Default format (type PUSH_ARTIFACT), CloudEvents
// (type harbor.artifact.pushed, with an id used for dedupe) and Harbor 1.x (pushImage).
// An artifact pushed without a tag has its digest in the tag field; it is dropped.
type harborPayload struct {
	// Default and 1.x.
	Type      string      `json:"type"`
	EventData *harborData `json:"event_data"`
	// CloudEvents.
	SpecVersion string      `json:"specversion"`
	ID          string      `json:"id"`
	Data        *harborData `json:"data"`
}

type harborData struct {
	Resources []struct {
		Tag         string `json:"tag"`
		ResourceURL string `json:"resource_url"`
	} `json:"resources"`
	Repository struct {
		Name         string `json:"name"`
		Namespace    string `json:"namespace"`
		RepoFullName string `json:"repo_full_name"`
	} `json:"repository"`
}

// parseHarbor reads a Harbor push event in any of its formats.
func parseHarbor(body []byte) ([]registry.PushEvent, error) {
	var p harborPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	data, id := p.EventData, ""
	switch {
	case p.SpecVersion != "":
		if p.Type != "harbor.artifact.pushed" {
			return nil, nil
		}
		data, id = p.Data, p.ID
	case p.Type != "PUSH_ARTIFACT" && p.Type != "pushImage":
		return nil, nil
	}
	if data == nil {
		return nil, nil
	}
	path := data.Repository.RepoFullName
	if path == "" && data.Repository.Name != "" {
		path = data.Repository.Namespace + "/" + data.Repository.Name
	}
	var evs []registry.PushEvent
	for _, r := range data.Resources {
		if untagged(r.Tag) {
			continue
		}
		host, rest, _ := strings.Cut(r.ResourceURL, "/")
		p := path
		if p == "" {
			// host/project/repo:tag without repository data: take the path from the URL.
			p, _, _ = strings.Cut(rest, ":")
		}
		// One bad event must not fail the others in the envelope.
		if ev, err := newEvent(host, p, r.Tag, id); err == nil {
			evs = append(evs, ev)
		}
	}
	return evs, nil
}
