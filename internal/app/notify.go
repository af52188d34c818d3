package app

import (
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/notify"
	"github.com/hoist-dev/hoist/updater"
)

// newNotifier builds the notifier of the notify section.
func newNotifier(cfg *config.Config, log zerolog.Logger) *notify.Notifier {
	return notify.New(notifySinks(cfg, log), log, notify.Options{})
}

// notifySinks builds the sinks of the notify section.
func notifySinks(cfg *config.Config, log zerolog.Logger) []notify.Sink {
	sinks := make([]notify.Sink, len(cfg.Notify))
	for i, n := range cfg.Notify {
		var tmpl *notify.Template
		if n.Template != "" {
			var err error
			if tmpl, err = notify.ParseTemplate(n.Template); err != nil { // validation parsed it already
				log.Error().Err(err).Int("notify", i).Msg("notification template does not render; the default is used")
			}
		}
		var f notify.Format = notify.JSON{}
		if n.Format == "slack" {
			f = notify.Slack{Template: tmpl}
		}
		sinks[i] = notify.Sink{URL: n.URL.Value(), Format: f, Template: tmpl, On: n.On}
	}
	return sinks
}

// notifyEvent is what a sink is told of a record.
func notifyEvent(r updater.Rollout) notify.Event {
	return notify.Event{Workload: r.Workload, From: r.From, To: r.To, Outcome: string(r.Outcome), Reason: r.Reason,
		Trigger: r.Trigger, Started: r.Started, Ended: r.Ended}
}
