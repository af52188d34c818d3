package container

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"
)

// Compose v2 copies a service's configs: and secrets: whose source is inline content
// or an environment variable into the container (pkg/compose/secrets.go), right before
// each start: secrets under /run/secrets/<name> by default, configs at their target
// (/<name> by default), mode 0444 unless the file says otherwise. They are files of
// the container, not mounts, and a container recreated through the Engine API alone
// goes without them. So a compose member's replacement gets, from the old container,
// each file its writable layer holds (docker diff) outside any mount that is under
// /run/secrets, or was written before its last start and is read-only for all (0444)
// or was written in the 10 seconds before that start. Compose v1 copies nothing in (its
// configs and secrets are bind mounts): its members are left alone.
const (
	injectedWindow = 10 * time.Second
	// maxInjectedCandidates bounds the files looked at: a container whose own files
	// changed by the thousand is not searched whole.
	maxInjectedCandidates = 256
	// maxInjectedSize bounds one copied file.
	maxInjectedSize = 1 << 20
)

// copyInjected copies the files compose injected into old into the container newID.
func (b *Backend) copyInjected(ctx context.Context, old container.InspectResponse, newID string, log zerolog.Logger) error {
	if strings.HasPrefix(old.Config.Labels[labelComposeVersion], "1.") {
		return nil
	}
	diff, err := b.c.ContainerDiff(ctx, old.ID, client.ContainerDiffOptions{})
	if err != nil {
		return fmt.Errorf("list the files of container %.12s: %w", old.ID, err)
	}
	started, _ := time.Parse(time.RFC3339Nano, startedAt(old))
	looked := 0
	for _, ch := range diff.Changes {
		p := path.Clean(ch.Path)
		if ch.Kind == container.ChangeDelete || mounted(old, p) {
			continue
		}
		if looked++; looked > maxInjectedCandidates {
			log.Warn().Int("files", len(diff.Changes)).Msg("too many changed files to look for compose's configs and secrets in all of them")
			break
		}
		st, err := b.c.ContainerStatPath(ctx, old.ID, client.ContainerStatPathOptions{Path: p})
		if err != nil || !injected(p, st.Stat, started) {
			continue
		}
		if err := b.copyFile(ctx, old.ID, newID, p); err != nil {
			return err
		}
		log.Info().Str("file", p).Msg("file compose copied into the container carried over")
	}
	return nil
}

// injected tells a file compose copied in from the container's own.
func injected(p string, st container.PathStat, started time.Time) bool {
	if !st.Mode.IsRegular() || st.Size > maxInjectedSize {
		return false
	}
	if strings.HasPrefix(p, "/run/secrets/") {
		return true
	}
	if started.IsZero() || st.Mtime.After(started) {
		return false
	}
	return st.Mode.Perm() == 0o444 || started.Sub(st.Mtime) <= injectedWindow
}

// copyFile copies one file from a container into another at the same path, with its
// mode and owner.
func (b *Backend) copyFile(ctx context.Context, from, to, p string) error {
	r, err := b.c.CopyFromContainer(ctx, from, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		return fmt.Errorf("copy %s out of container %.12s: %w", p, from, err)
	}
	defer r.Content.Close()
	tr := tar.NewReader(r.Content)
	h, err := tr.Next()
	if err != nil {
		return fmt.Errorf("copy %s out of container %.12s: %w", p, from, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h.Name = strings.TrimPrefix(p, "/")
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	if _, err := io.Copy(tw, io.LimitReader(tr, maxInjectedSize)); err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	if _, err := b.c.CopyToContainer(ctx, to, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf, CopyUIDGID: true}); err != nil {
		return fmt.Errorf("copy %s into container %.12s: %w", p, to, err)
	}
	return nil
}

// mounted reports whether p is at or under one of c's mounts.
func mounted(c container.InspectResponse, p string) bool {
	for _, m := range c.Mounts {
		d := path.Clean(m.Destination)
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func startedAt(c container.InspectResponse) string {
	if c.State == nil {
		return ""
	}
	return c.State.StartedAt
}
