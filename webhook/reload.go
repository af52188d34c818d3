package webhook

import (
	"github.com/hoist-dev/hoist/config"
)

// sourceTable is the sources in force, by name, with the body cap of their limits.
type sourceTable struct {
	byName  map[string]*source
	names   []string // in the order they were configured
	maxBody int64
}

func newSourceTable(srcs []*source, maxBody int64) *sourceTable {
	t := &sourceTable{byName: map[string]*source{}, maxBody: maxBody}
	for _, src := range srcs {
		t.byName[src.name] = src
		t.names = append(t.names, src.name)
	}
	return t
}

// Reload puts the sources and limits of cfg in force: deliveries from now on are
// authenticated, rate-limited and capped under them (each source gets a new rate
// limiter); a delivery being read finishes under the table it started with. Delivery
// ids seen and recent events are kept, so a redelivery across a reload is still a
// duplicate. The memory budget of the deliveries in flight stays as it was at start.
func (s *Server) Reload(cfg config.Webhooks) {
	lim := cfg.Limits.WithDefaults()
	s.table.Store(newSourceTable(sourcesOf(cfg, lim, s), int64(lim.MaxBody)))
}
