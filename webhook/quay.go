package webhook

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hoist-dev/hoist/registry"
)

// Quay sends repo_push notifications with no secret header, so the token is in the
// URL path. updated_tags is an array, or in the legacy format an object mapping tag
// to image id. A push by digest does not notify.
type quayPayload struct {
	Repository  string          `json:"repository"`
	DockerURL   string          `json:"docker_url"`
	UpdatedTags json.RawMessage `json:"updated_tags"`
}

// parseQuay reads a Quay repo_push notification.
func parseQuay(body []byte) ([]registry.PushEvent, error) {
	var p quayPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	host, path, _ := strings.Cut(p.DockerURL, "/")
	if p.DockerURL == "" {
		host, path = "quay.io", p.Repository
	}
	if path == "" {
		return nil, fmt.Errorf("%w: no docker_url or repository", errBadName)
	}
	if _, err := newEvent(host, path, "latest", ""); err != nil {
		return nil, err
	}
	tags, err := quayTags(p.UpdatedTags)
	if err != nil {
		return nil, err
	}
	var evs []registry.PushEvent
	for _, t := range tags {
		if t == "" {
			continue
		}
		// One bad event must not fail the others in the envelope.
		if ev, err := newEvent(host, path, t, ""); err == nil {
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

func quayTags(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var legacy map[string]json.RawMessage
	if err := json.Unmarshal(raw, &legacy); err != nil {
		return nil, fmt.Errorf("%w: updated_tags is neither a list nor an object", errMalformed)
	}
	tags := make([]string, 0, len(legacy))
	for t := range legacy {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags, nil
}
