package webhook

import (
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/registry"
)

// outcomes counts what became of the events of one delivery, so that it is logged
// as one line however many events it lists.
type outcomes struct {
	n     map[string]int
	total int
	first registry.PushEvent // named in the line when it is the only event
	what  string             // its outcome
}

func (o *outcomes) add(outcome string, ev registry.PushEvent) {
	if o.n == nil {
		o.n = map[string]int{}
	}
	if o.total == 0 {
		o.first, o.what = ev, outcome
	}
	o.n[outcome]++
	o.total++
}

// log writes the delivery's line: its counts, and the repository, tag and outcome of
// a single event. A delivery with only coalesced events is logged at debug level.
func (o *outcomes) log(l zerolog.Logger, source string) {
	if o.total == 0 {
		return
	}
	level := zerolog.InfoLevel
	if o.n["coalesced"] == o.total {
		level = zerolog.DebugLevel
	}
	e := l.WithLevel(level).Str("source", source).Int("events", o.total)
	for _, k := range []string{"enqueued", "unwatched", "coalesced", "duplicate"} {
		if v := o.n[k]; v > 0 {
			e = e.Int(k, v)
		}
	}
	if o.total == 1 {
		e = e.Str("repo", o.first.Repo.Name()).Str("tag", o.first.Tag).Str("outcome", o.what)
	}
	e.Msg("webhook delivery")
}
