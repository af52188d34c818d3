package updater

import (
	"strings"

	"github.com/rs/zerolog"
)

// notePhase keeps notes with the phase r just entered, in one more store write, and
// returns the record as stored. Without notes it writes nothing.
func (u *Updater) notePhase(r Rollout, notes []string, log zerolog.Logger) Rollout {
	note := strings.Join(notes, "; ")
	if note == "" || len(r.Phases) == 0 {
		return r
	}
	r.Phases[len(r.Phases)-1].Note = note
	if err := u.store.Put(r); err != nil {
		log.Error().Err(err).Str("phase", string(r.Phase)).Msg("record the phase's note")
	}
	log.Info().Str("phase", string(r.Phase)).Str("note", note).Msg("rollout stage")
	return r
}
