package webhook

import (
	"github.com/hoist-dev/hoist/registry"
)

// ACR sends only the custom headers configured on the webhook, so a static token in
// one of them is all it can do. Actions other than push (ping, delete, chart_push,
// quarantine) and pushes without a tag are ignored. id is used for dedupe.
type acrPayload struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Target struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// parseACR reads an Azure Container Registry webhook.
func parseACR(body []byte) ([]registry.PushEvent, error) {
	var p acrPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	if p.Action != "push" || p.Target.Tag == "" {
		return nil, nil
	}
	ev, err := newEvent(p.Request.Host, p.Target.Repository, p.Target.Tag, p.ID)
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}
