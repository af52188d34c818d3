package webhook

import (
	"github.com/hoist-dev/hoist/registry"
)

// Distribution (registry 2.x sends …events.v1+json, 3.x …events.v2+json; both are
// accepted, and Content-Type is not checked) posts an envelope of events. Only a
// manifest push by tag is a hint; blob pushes, pulls (including the HEAD checks a
// push makes), mounts, deletes and pushes by digest are dropped, but the request is
// still answered 202: Distribution retries a failed delivery forever and blocks its
// queue meanwhile.
type distEnvelope struct {
	Events []distEvent `json:"events"`
}

type distEvent struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		URL        string `json:"url"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// parseDistribution reads a notification envelope, taking each event's registry host
// from request.host (the host the pushing client used).
func parseDistribution(body []byte) ([]registry.PushEvent, error) {
	return parseDistributionHost(body, "")
}

// parseDistributionHost is parseDistribution with the registry host replaced by host
// when it is not empty (request.host may be an internal name).
func parseDistributionHost(body []byte, host string) ([]registry.PushEvent, error) {
	var env distEnvelope
	if err := decode(body, &env); err != nil {
		return nil, err
	}
	var evs []registry.PushEvent
	for _, e := range env.Events {
		if e.Action != "push" || e.Target.Tag == "" || e.Target.MediaType == "application/octet-stream" {
			continue
		}
		h := host
		if h == "" {
			h = e.Request.Host
		}
		if h == "" {
			h = urlHost(e.Target.URL)
		}
		// One bad event must not fail the others in the envelope.
		if ev, err := newEvent(h, e.Target.Repository, e.Target.Tag, e.ID); err == nil {
			evs = append(evs, ev)
		}
	}
	return evs, nil
}
