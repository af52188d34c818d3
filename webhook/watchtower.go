package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/hoist-dev/hoist/config"
	"github.com/hoist-dev/hoist/registry"
)

// WatchtowerPath is where Watchtower's HTTP API took update requests.
const WatchtowerPath = "/v1/update"

// maxWatchtowerImages bounds the images of one request.
const maxWatchtowerImages = 100

// watchtowerSource names the trigger in events, records and metrics.
const watchtowerSource = "watchtower"

// Watchtower answers Watchtower's HTTP API trigger, so CI jobs written for Watchtower
// keep working: POST /v1/update with Authorization: Bearer <token> asks for a check of
// every workload, and ?image=repo[:tag],… for a check of those repositories only. It
// carries no digest: hoist resolves what the tags point at itself.
type Watchtower struct {
	gate     atomic.Pointer[watchtowerGate] // nil once a reload took the token away
	sink     Sink
	checkAll func(source string)
	log      zerolog.Logger
	rejected zerolog.Logger
	count    func(name string, labels ...string)
}

// NewWatchtower returns the trigger configured in cfg.Watchtower, or nil when it is
// not configured or its token is too short (validation has said so). checkAll must
// not block: it starts a check of every workload under the server's context.
func NewWatchtower(cfg config.Webhooks, sink Sink, checkAll func(source string), log zerolog.Logger, opts ...Option) *Watchtower {
	c := cfg.Watchtower
	if c == nil || len(c.Token.Value()) < config.MinTokenLen {
		return nil
	}
	lim := cfg.Limits.WithDefaults()
	s := &Server{count: func(string, ...string) {}}
	for _, o := range opts {
		o(s)
	}
	w := &Watchtower{sink: sink, checkAll: checkAll,
		log: log, rejected: log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Minute}), count: s.count,
	}
	w.gate.Store(&watchtowerGate{
		auth:    &headerToken{header: "Authorization", mode: bearer, secret: newSecretEq(c.Token.Value())},
		limiter: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst),
	})
	return w
}

// watchtowerGate is the token and rate limiter in force.
type watchtowerGate struct {
	auth    authenticator
	limiter *rate.Limiter
}

// Reload puts cfg's Watchtower token and limits in force; without a usable token the
// trigger answers 404 from now on. A Watchtower that was not mounted at start (nil)
// cannot be mounted by a reload: it reports false, and hoist must restart for it.
func (w *Watchtower) Reload(cfg config.Webhooks) bool {
	c := cfg.Watchtower
	usable := c != nil && len(c.Token.Value()) >= config.MinTokenLen
	if w == nil {
		return !usable
	}
	if !usable {
		w.gate.Store(nil)
		return true
	}
	lim := cfg.Limits.WithDefaults()
	w.gate.Store(&watchtowerGate{
		auth:    &headerToken{header: "Authorization", mode: bearer, secret: newSecretEq(c.Token.Value())},
		limiter: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst),
	})
	return true
}

// Register mounts POST /v1/update; a nil Watchtower mounts nothing.
func (w *Watchtower) Register(e *echo.Echo) {
	if w == nil {
		return
	}
	e.POST(WatchtowerPath, w.handle)
}

func (w *Watchtower) handle(c echo.Context) error {
	r := c.Request()
	fail := func(status int, outcome, msg string) error {
		w.rejected.Warn().Str("source", watchtowerSource).Str("outcome", outcome).Str("reason", msg).Str("remote", r.RemoteAddr).Msg("webhook rejected")
		w.count("hoist_webhook_rejected_total", "source", watchtowerSource, "reason", outcome)
		if status == http.StatusTooManyRequests {
			c.Response().Header().Set("Retry-After", "1")
		}
		return writeProblem(c, status, msg)
	}
	g := w.gate.Load()
	if g == nil {
		return writeProblem(c, http.StatusNotFound, "the Watchtower trigger is not configured (webhooks.watchtower)")
	}
	if ok, why := g.auth.authenticate(r, "", nil); !ok {
		return fail(http.StatusUnauthorized, "unauthorized", why)
	}
	if !g.limiter.Allow() {
		return fail(http.StatusTooManyRequests, "rate_limited", "too many requests; retry later")
	}
	evs, err := parseWatchtowerImages(c.QueryParam("image"))
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", cutQuoted(err.Error()))
	}
	if len(evs) == 0 {
		w.checkAll(watchtowerSource)
		w.log.Info().Str("source", watchtowerSource).Msg("check of every workload requested")
		return c.JSON(http.StatusAccepted, acceptBody{Status: "accepted"})
	}
	n := 0
	for _, ev := range evs {
		ev.Source = watchtowerSource
		if w.sink.Enqueue(ev) {
			n++
		}
	}
	w.log.Info().Str("source", watchtowerSource).Int("images", len(evs)).Int("watched", n).Msg("check of images requested")
	return c.JSON(http.StatusAccepted, acceptBody{Status: "accepted", Events: n})
}

// parseWatchtowerImages reads ?image=: comma-separated repositories, each optionally
// with a tag (redis, ghcr.io/org/app:1.4). Without a tag every tag of the repository
// the workloads follow is checked. Empty means every workload.
func parseWatchtowerImages(q string) ([]registry.PushEvent, error) {
	var out []registry.PushEvent
	for _, img := range strings.Split(q, ",") {
		img = strings.TrimSpace(img)
		if img == "" {
			continue
		}
		if len(out) == maxWatchtowerImages {
			return nil, fmt.Errorf("%w: at most %d images per request", errBadName, maxWatchtowerImages)
		}
		if strings.Contains(img, "@") {
			return nil, fmt.Errorf("%w: image %q: name a repository or repository:tag, not a digest (hoist resolves the tag itself)", errBadName, img)
		}
		repoText, tag := img, ""
		if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') {
			repoText, tag = img[:i], img[i+1:]
		}
		repo, err := name.NewRepository(repoText)
		if err == nil {
			// Docker Hub's "library/" can take a name past the 255 characters allowed.
			_, err = name.NewRepository(repo.Name())
		}
		if err != nil || !repoPath.MatchString(repo.RepositoryStr()) {
			return nil, fmt.Errorf("%w: image %q is not a repository name", errBadName, img)
		}
		if tag != "" && !validTag(tag) {
			return nil, fmt.Errorf("%w: image %q: tag %q", errBadName, img, tag)
		}
		out = append(out, registry.PushEvent{Repo: repo, Tag: tag})
	}
	return out, nil
}
