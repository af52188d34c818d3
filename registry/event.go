package registry

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// PushEvent says that a tag may point at a new digest. It is only a hint: whoever acts
// on it resolves the digest from the registry itself, so nothing a sender claims
// (digest, size, pusher) is carried here.
type PushEvent struct {
	// Repo is the repository, registry included (docker.io/library/nginx).
	Repo name.Repository
	// Tag is the tag that moved; empty when the sender only knows the repository.
	Tag string
	// Source names the trigger: "poll", "dockerhub", "distribution", "api", ...
	Source string
	// DeliveryID is the sender's id for this delivery, when it gives one.
	DeliveryID string
}

// Key is the repository and tag in their canonical form, for dedupe and coalescing.
func (e PushEvent) Key() string {
	if e.Tag == "" {
		return e.Repo.Name()
	}
	return e.Repo.Name() + ":" + e.Tag
}

func (e PushEvent) String() string { return fmt.Sprintf("%s (from %s)", e.Key(), e.Source) }

// hoistSources are the triggers hoist makes itself; every other source names a
// registry's push notification.
var hoistSources = map[string]bool{"poll": true, "api": true, "ui": true, "schedule": true, "retry": true, "approve": true, "engine": true}

// FromWebhook reports whether source names a registry's push notification, not one of
// hoist's own triggers (poll, schedule, retry, approve, api, ui).
func FromWebhook(source string) bool { return source != "" && !hoistSources[source] }
