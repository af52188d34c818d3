package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/updater"
)

// retention turns history.keep into what the store prunes by.
func retention(k config.Keep) updater.Retention {
	return updater.Retention{PerWorkload: k.Count, MaxAge: k.Age.D()}
}

// pruneHistory drops the rollout records history.keep does not cover; serve calls it at
// start and every minute.
func pruneHistory(store *updater.Store, cfg *config.Config, log zerolog.Logger) {
	n, err := store.Prune(retention(cfg.History.Keep), time.Now())
	if err != nil {
		log.Warn().Err(err).Msg("prune rollout history")
		return
	}
	if n > 0 {
		log.Debug().Int("records", n).Str("keep", cfg.History.Keep.String()).Msg("pruned rollout history")
	}
}
