package container

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Labels docker compose puts on the containers it makes, as hoist reads them.
const (
	// labelComposeProject marks a compose member: compose counts every container that
	// carries its project, service and oneoff=False labels as one of the service's.
	labelComposeProject = "com.docker.compose.project"
	labelComposeService = "com.docker.compose.service"
	// labelComposeImage is the image ID Compose v2 created the container from; it
	// recreates the container when the service's image resolves to another ID.
	labelComposeImage = "com.docker.compose.image"
	// labelComposeDependsOn lists the services this one depends on:
	// "svc:condition:restart,svc2:…".
	labelComposeDependsOn = "com.docker.compose.depends_on"
	// labelComposeVersion is the version of compose that made the container.
	labelComposeVersion = "com.docker.compose.version"
)

// LabelPreviousImage is put on the replacement of a compose member: the image it
// replaced (repo:tag@sha256:… when its registry digest is known, else the image ID).
// A compose member keeps no previous container (compose would count it as one of the
// service's); a manual rollback swaps back onto this image until
// LabelPreviousExpires.
const LabelPreviousImage = "hoist.previous.image"

// composeMember reports whether docker compose made c (and counts it as a member of
// its project).
func composeMember(c container.InspectResponse) bool {
	return c.Config != nil && c.Config.Labels[labelComposeProject] != ""
}

// previousRef names the image old runs so that it can be found again: pinned
// repo:tag@sha256:… when the registry digest is known, else the local image ID.
func (b *Backend) previousRef(ctx context.Context, old container.InspectResponse) string {
	d := b.repoDigest(ctx, old.Image, old.Config.Image)
	tag := tagOf(old.Config.Image)
	if d == "" || tag == "" {
		return old.Image
	}
	return tag + "@" + d
}

// previousOf reads a compose member's previous image from its labels: "" when none
// was recorded or it expired.
func (b *Backend) previousOf(labels map[string]string) string {
	img := labels[LabelPreviousImage]
	if img == "" {
		return ""
	}
	if exp, err := time.Parse(time.RFC3339, labels[LabelPreviousExpires]); err == nil && !b.now().Before(exp) {
		return ""
	}
	return img
}

// tagOf is the tag reference in an engine image string ("repo:tag@sha256:…" and
// "repo:tag" give "repo:tag", "repo" gives "repo:latest"), "" for an image ID or a
// reference pinned by digest alone.
func tagOf(image string) string {
	if strings.HasPrefix(image, "sha256:") {
		return ""
	}
	n, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	if t, ok := n.(reference.Tagged); ok {
		r, err := reference.WithTag(reference.TrimNamed(n), t.Tag())
		if err != nil {
			return ""
		}
		return r.String()
	}
	if _, ok := n.(reference.Digested); ok {
		return ""
	}
	return reference.TagNameOnly(n).String()
}

// tagFollows reports whether the engine's local tag of old's image is to follow what
// hoist deploys: old was created from a tag (docker run app:live, a compose service),
// or by hoist, which pins what it creates.
func tagFollows(old container.InspectResponse) bool {
	if old.Config == nil || tagOf(old.Config.Image) == "" {
		return false
	}
	return !strings.Contains(old.Config.Image, "@") || old.Config.Labels[LabelSwapName] != ""
}

// moveTag points the engine's local tag at the image cur runs, as `docker pull` or
// `docker compose pull` would: compose decides what to recreate from the image the
// service's tag names on this engine, and must find what runs. The tag is cur's own
// (a rollout to another tag moves that one and leaves the old tag alone).
func (b *Backend) moveTag(ctx context.Context, old, cur container.InspectResponse) error {
	if !tagFollows(old) {
		return nil
	}
	tag := tagOf(cur.Config.Image)
	if tag == "" {
		tag = tagOf(old.Config.Image)
	}
	if tag == "" || cur.Image == "" {
		return nil
	}
	if _, err := b.c.ImageTag(ctx, client.ImageTagOptions{Source: cur.Image, Target: tag}); err != nil {
		return fmt.Errorf("tag %s as %s: %w", cur.Image, tag, err)
	}
	b.log.Info().Str("tag", tag).Str("image_id", cur.Image).Msg("local tag moved to the deployed image")
	return nil
}

// ensureImage makes image present on the engine, pulling it when it is not (a
// rollback's previous image that was removed since).
func (b *Backend) ensureImage(ctx context.Context, image, auth string) error {
	if _, err := b.c.ImageInspect(ctx, image); err == nil {
		return nil
	}
	if strings.HasPrefix(image, "sha256:") {
		return fmt.Errorf("image %s is gone from the engine and has no registry digest to pull it by", image)
	}
	return b.pull(ctx, image, auth)
}

// moveTagBack is moveTag after a manual rollback: the tag goes back to the image cur
// runs unless other running containers still run the image the tag names now (a group
// that shares the tag, rolled back one container at a time): compose would move them
// all with it. The last one rolled back moves it.
func (b *Backend) moveTagBack(ctx context.Context, old, cur container.InspectResponse) error {
	tag := tagOf(cur.Config.Image)
	if tag == "" {
		tag = tagOf(old.Config.Image)
	}
	if !tagFollows(old) || tag == "" {
		return nil
	}
	img, err := b.c.ImageInspect(ctx, tag)
	if err != nil || img.ID == cur.Image {
		return nil // no such tag here, or already there
	}
	r, err := b.c.ContainerList(ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("ancestor", img.ID)})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var others []string
	for _, c := range r.Items {
		if c.ID != old.ID && c.ID != cur.ID && c.ImageID == img.ID && len(c.Names) > 0 {
			others = append(others, strings.TrimPrefix(c.Names[0], "/"))
		}
	}
	if len(others) > 0 {
		b.log.Warn().Str("tag", tag).Strs("still_on_it", others).
			Msg("local tag left on the image other containers run: roll them back too and the last one moves it (until then `docker compose up` would bring this one back to it)")
		return nil
	}
	return b.moveTag(ctx, old, cur)
}
