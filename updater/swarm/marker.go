package swarm

import (
	"maps"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// LabelRollout marks a service's task template as written by hoist: its value is the
// image hoist rolled out and when ("<repo:tag@digest> <RFC 3339 time>"). It is a
// container label, sent in the very update that changes the image, so it neither
// makes an update of its own nor rewrites the service's PreviousSpec
// (`docker service rollback` still goes back one image), and it survives on the
// tasks in Swarm's task history. A hoist whose store was lost reads it to tell its
// own recent updates from other people's.
const LabelRollout = "hoist.rollout"

// mark returns spec with the marker for image set in its container labels.
func mark(spec swarm.ServiceSpec, image string, at time.Time) swarm.ServiceSpec {
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Labels = maps.Clone(cs.Labels)
	if cs.Labels == nil {
		cs.Labels = map[string]string{}
	}
	cs.Labels[LabelRollout] = image + " " + at.UTC().Format(time.RFC3339Nano)
	spec.TaskTemplate.ContainerSpec = &cs
	return spec
}

// marker reads the marker of a container spec: the image hoist rolled out and when.
func marker(cs *swarm.ContainerSpec) (image string, at time.Time, ok bool) {
	if cs == nil {
		return "", time.Time{}, false
	}
	v, found := cs.Labels[LabelRollout]
	if !found {
		return "", time.Time{}, false
	}
	image, when, _ := strings.Cut(v, " ")
	at, err := time.Parse(time.RFC3339Nano, when)
	return image, at, err == nil && image != ""
}
