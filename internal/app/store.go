package app

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/store"
	"github.com/hoist-dev/hoist/updater"
)

// Store is the store of hoist's records, with the updater's plans.
type Store = store.Store[updater.Plan]

// OpenStore opens the store in data_dir dir (see store.Open).
func OpenStore(dir string, readOnly bool) (*Store, error) {
	return store.Open[updater.Plan](dir, readOnly)
}

// retention turns history.keep into what the store prunes by.
func retention(k config.Keep) store.Retention {
	return store.Retention{PerWorkload: k.Count, MaxAge: k.Age.D()}
}

// pruneHistory drops the rollout records history.keep does not cover; serve calls it at
// start and every minute.
func pruneHistory(s *Store, cfg *config.Config, log zerolog.Logger) {
	n, err := s.Prune(retention(cfg.History.Keep), time.Now())
	if err != nil {
		log.Warn().Err(err).Msg("prune rollout history")
		return
	}
	if n > 0 {
		log.Debug().Int("records", n).Str("keep", cfg.History.Keep.String()).Msg("pruned rollout history")
	}
}
