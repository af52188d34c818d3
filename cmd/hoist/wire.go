package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/moby/moby/client"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/internal/safetext"
	"github.com/hoist-dev/hoist/notify"
	"github.com/hoist-dev/hoist/policy"
	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
	"github.com/hoist-dev/hoist/updater/swarm"
)

// Durations in logs are seconds. zerolog keeps this in a global, so it is set once,
// before any logger runs (tests run several hoists in one process).
func init() { zerolog.DurationFieldUnit = time.Second }

// newLogger builds the root logger: JSON, or console when writing to a terminal. What
// engines, registries and containers say (names, reasons, log tails) is logged as it
// came, so the output escapes control and bidi characters (internal/safetext): JSON
// writes them \uXXXX (what a line decodes to is unchanged), the console as visible
// escapes.
func newLogger(cfg config.Log, w io.Writer) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(cfg.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	var out io.Writer = safetext.JSONWriter{W: w}
	console := cfg.Format == "console"
	if cfg.Format == "auto" {
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				console = true
			}
		}
	}
	if console {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, FormatPrepare: escapeFields, FormatFieldValue: escapeValue}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger()
}

// escapeFields readies a console log line: the message and the field names are
// printed as they are, so they are escaped here (string values are quoted by the
// console writer itself, which escapes them; escapeValue takes the others).
func escapeFields(evt map[string]any) error {
	for k, v := range evt {
		if m, ok := v.(string); ok && k == zerolog.MessageFieldName {
			evt[k] = safetext.Line(m)
		}
		if safe := safetext.Line(k); safe != k {
			delete(evt, k)
			evt[safe] = v
		}
	}
	return nil
}

// escapeValue prints a console field's value (a quoted string, a number, or the JSON
// of a list or an object, which may hold bidi characters raw).
func escapeValue(v any) string { return safetext.Line(fmt.Sprintf("%s", v)) }

// engineAnswerTimeout bounds the engine's first answer: the ping that negotiates the
// API version. A variable so that tests can shorten it.
var engineAnswerTimeout = 10 * time.Second

// engineSilentError means the engine's address took the connection (or did not) and
// nothing answered in time.
type engineSilentError struct {
	Host  string
	After time.Duration
}

func (e *engineSilentError) Error() string {
	return fmt.Sprintf("docker engine at %s did not answer within %s; is it the engine's address (docker.host, --docker-host, DOCKER_HOST), and is the engine up?", e.Host, e.After)
}

// connectDocker builds the engine client, checks that the engine answers and
// negotiates the API version, within engineAnswerTimeout. A DOCKER_HOST the file's
// docker.host would be refused for is a usage error, before anything is dialled.
func connectDocker(ctx context.Context, cfg config.Docker) (*client.Client, error) {
	if h := os.Getenv("DOCKER_HOST"); cfg.Host == "" && h != "" {
		var probe config.Config
		if err := probe.Apply([]config.Override{{Flag: "DOCKER_HOST", Key: "docker.host", Value: h}}); err != nil {
			return nil, badValue("%v", err)
		}
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, engineAnswerTimeout)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		if ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
			return nil, &engineSilentError{Host: c.DaemonHost(), After: engineAnswerTimeout}
		}
		return nil, fmt.Errorf("docker engine at %s: %w", c.DaemonHost(), err)
	}
	return c, nil
}

func newRegistry(cfg *config.Config) *registry.Client {
	creds := make([]registry.Credential, len(cfg.Registries))
	for i, r := range cfg.Registries {
		creds[i] = registry.Credential{Host: r.Host, Username: r.Username, Password: r.Password.Value(), Insecure: r.Insecure}
		if r.Timeout != nil {
			creds[i].Timeout = r.Timeout.D()
		}
	}
	return registry.New(registry.Options{Credentials: creds, RequestTimeout: config.DefaultRegistryTimeout})
}

// policies compiles the file's policies into rules and plans.
func policies(cfg *config.Config) (*policy.Set, map[string]updater.Plan, map[string]time.Duration, error) {
	rules := make([]*policy.Rule, 0, len(cfg.Policies))
	plans := map[string]updater.Plan{}
	intervals := map[string]time.Duration{}
	for _, p := range cfg.Policies {
		r, err := policy.NewRule(p.Name, p.Match.Services, p.Match.Containers, p.Match.Labels, policy.Strategy(p.Update), p.Semver)
		if err != nil {
			return nil, nil, nil, err
		}
		if p.Update == string(policy.Tags) && p.Tags != nil {
			t := p.Tags
			if r.Tags, err = policy.NewTagFilter(t.Filter.Pattern, t.Filter.Extract, policy.Order(t.Order), t.Direction == "asc", t.Exclude); err != nil {
				return nil, nil, nil, fmt.Errorf("policy %s: %w", p.Name, err)
			}
		}
		if r.When, err = when(p.When); err != nil {
			return nil, nil, nil, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		r.Verify = verifyRule(p.Verify)
		if w := p.Watchtower; w != nil {
			r.Watchtower = &policy.Watchtower{LabelEnable: w.LabelEnable, Scope: w.Scope, LifecycleHooks: w.LifecycleHooks}
		}
		rules = append(rules, r)
		plan := updater.Plan{
			Parallelism: p.Rollout.Parallelism, Delay: p.Rollout.Delay.D(), StartFirst: p.Rollout.Order == "start-first",
			Monitor: p.Rollout.Monitor.D(), MaxFailureRatio: p.Rollout.MaxFailureRatio,
			Watch: p.Health.Watch.D(), Timeout: p.Health.Timeout.D(), KeepPrevious: p.Rollout.KeepPrevious.D(),
		}
		if plan.ComposeFile, err = policy.ParseComposeFile(p.Rollout.ComposeFile); err != nil {
			return nil, nil, nil, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		for _, k := range p.Rollout.Written {
			plan.Written |= planFields[k]
		}
		if h := p.Health.HTTP; h != nil {
			plan.HTTPProbe = &updater.HTTPProbe{Port: h.Port, Path: h.Path}
		}
		plans[p.Name] = plan
		if p.Interval != nil {
			intervals[p.Name] = p.Interval.D()
		}
	}
	return policy.NewSet(rules...), plans, intervals, nil
}

// backends returns the backends the engine supports: services only on a Swarm manager
// (a worker or a plain engine has none to update), containers always.
func backends(ctx context.Context, dc *client.Client, cb updater.Backend, log zerolog.Logger) []updater.Backend {
	ictx, cancel := context.WithTimeout(ctx, 3*engineAnswerTimeout)
	defer cancel()
	info, err := dc.Info(ictx, client.InfoOptions{})
	if err == nil && info.Info.Swarm.LocalNodeState == "active" && info.Info.Swarm.ControlAvailable {
		return []updater.Backend{swarm.New(dc), cb}
	}
	why := "this engine is not a Swarm manager"
	if err != nil {
		why = err.Error()
	}
	log.Info().Str("reason", why).Msg("Swarm services are not managed; standalone containers are")
	return []updater.Backend{cb}
}

// planFields names the rollout settings a policy can write, as config spells them.
var planFields = map[string]updater.PlanFields{
	"parallelism": updater.FieldParallelism, "delay": updater.FieldDelay, "order": updater.FieldOrder,
	"monitor": updater.FieldMonitor, "max_failure_ratio": updater.FieldMaxFailureRatio,
}

// when compiles a policy's when: windows read in its time zone, and the minimum age.
func when(w config.When) (policy.When, error) {
	out := policy.When{MinAge: w.MinAge.D(), Approve: w.Approve}
	if w.Timezone != "" {
		loc, err := time.LoadLocation(w.Timezone)
		if err != nil {
			return out, fmt.Errorf("timezone %q: %w", w.Timezone, err)
		}
		out.Location = loc
	}
	for _, cw := range w.Windows {
		win := policy.Window{
			From: policy.Clock{Hour: cw.From.Hour(), Minute: cw.From.Minute(), Second: cw.From.Second()},
			To:   policy.Clock{Hour: cw.To.Hour(), Minute: cw.To.Minute(), Second: cw.To.Second()},
		}
		for _, d := range cw.Days {
			win.Days[d] = true
		}
		out.Windows = append(out.Windows, win)
	}
	return out, nil
}

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
