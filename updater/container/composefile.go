package container

import (
	"context"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/composefile"
	"github.com/hoist-dev/hoist/policy"
)

// composeNotes brings the compose files of the replaced compose members in step with
// a rollout that moved them to another tag, or says that they still name the old
// one (a container that only followed another's namespace kept its image). It returns
// "; "-prefixed notes for the record's reason, or "".
func (b *Backend) composeNotes(ctx context.Context, done []*swap, mode policy.ComposeFile) string {
	moved := map[string][]string{} // project directory → services moved to another tag
	for _, s := range done {
		if p, ok := composeProject(s.old); ok && !composefile.SameTag(s.old.Config.Image, s.image) {
			moved[p.WorkingDir] = append(moved[p.WorkingDir], p.Service)
		}
	}
	var notes []string
	seen := map[string]bool{}
	for _, s := range done {
		p, ok := composeProject(s.old)
		key := p.WorkingDir + "\x00" + p.Service
		if !ok || seen[key] {
			continue
		}
		seen[key] = true
		if note := b.syncComposeFile(ctx, s.old, s.image, mode, moved[p.WorkingDir], s.log); note != "" {
			notes = append(notes, note)
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}

// syncComposeFile handles one compose member replaced by newImage. A member that kept
// its tag (a digest policy) needs nothing. Otherwise, with policy.ComposeWrite, the
// project's file (or its .env) is rewritten to the new tag; with policy.ComposeWarn,
// or when the file cannot be written, the note says what `compose up` would do.
// moved are the project's services this rollout moved to another tag: a .env variable
// they share may change.
func (b *Backend) syncComposeFile(_ context.Context, old container.InspectResponse, newImage string, mode policy.ComposeFile, moved []string, log zerolog.Logger) string {
	p, ok := composeProject(old)
	if !ok || composefile.SameTag(old.Config.Image, newImage) {
		return ""
	}
	log = log.With().Str("compose_service", p.Service).Str("compose_dir", p.WorkingDir).Logger()
	if mode == policy.ComposeWrite {
		ch, err := composefile.Update(p, old.Config.Image, newImage, moved...)
		if err == nil {
			if ch.File == "" {
				return ""
			}
			log.Info().Str("file", ch.File).Str("from", ch.From).Str("to", ch.To).Msg("compose file updated")
			return "compose file updated: " + ch.String()
		}
		note := "compose file not updated (" + err.Error() + ")"
		if d, cerr := composefile.Check(p, newImage); cerr == nil && d != nil {
			note += ": " + d.String()
		}
		log.Warn().Str("reason", string(composefile.ReasonOf(err))).Msg(note)
		return note
	}
	d, err := composefile.Check(p, newImage)
	switch {
	case err != nil:
		note := "compose file not read (" + err.Error() + "): `docker compose up` may bring " + old.Config.Image + " back"
		log.Warn().Msg(note)
		return note
	case d == nil:
		return ""
	}
	note := d.String() + "; rollout.compose_file: write lets hoist update it"
	log.Warn().Msg(note)
	return note
}

// composeDrift says whether the compose file of a running compose member names
// another image than the one it runs ("" when it names the same, or cannot be read:
// the rollout that moved the tag said why). It reads the project's files (bounded).
func composeDrift(c container.InspectResponse) string {
	p, ok := composeProject(c)
	if !ok || !running(c) {
		return ""
	}
	d, err := composefile.Check(p, c.Config.Image)
	if err != nil || d == nil {
		return ""
	}
	return d.String()
}

// composeProject reads a container's compose labels: ok is false for a container
// compose did not make (or made without recording its files).
func composeProject(c container.InspectResponse) (composefile.Project, bool) {
	if c.Config == nil {
		return composefile.Project{}, false
	}
	return composefile.FromLabels(c.Config.Labels)
}
