package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/updater"
)

// Updater is what the dashboard needs from the updater: the reads and manual actions
// the API makes, and the feed of its changes.
type Updater interface {
	Workloads(ctx context.Context) ([]updater.Status, error)
	Check(ctx context.Context, apply bool, trigger string) ([]updater.Status, error)
	Rollback(ctx context.Context, key string) error
	Approve(ctx context.Context, key, digest string) (updater.Status, error)
	ClearQuarantine(key string) (int, error)
	Subscribe() (<-chan updater.Change, func())
}

// Records reads the rollout history.
type Records interface {
	updater.RolloutReader
	Get(id uint64) (updater.Rollout, error)
}

// Options configure the dashboard.
type Options struct {
	// BasePath is where the dashboard is served; it starts and ends with "/".
	BasePath string
	// Token is api.token: logging in takes it.
	Token string
	// AnonymousRead lets anyone view; acting still needs a login.
	AnonymousRead bool
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// SessionFile, when set, keeps the logins across restarts (ids hashed, mode 0600).
	SessionFile string
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes) whose
	// X-Forwarded-For and X-Forwarded-Host are believed; none means the socket's peer
	// is the client. Entries that do not parse are left out (config validates them).
	TrustedProxies []string
	// Count, when set, counts manual actions as the API does (for metrics).
	Count func(name string, labels ...string)
	Log   zerolog.Logger
}

// Server holds the dashboard's handlers.
type Server struct {
	u         Updater
	records   Records
	base      string
	token     string
	anonymous bool
	log       zerolog.Logger
	refusals  zerolog.Logger // sampled: a flood of wrong tokens must not flood the log
	// ctx is the server's own context: actions run under it, and live feeds end with it.
	ctx       context.Context
	sessions  *sessions
	logins    *failures
	proxies   proxies
	state     *stateCache
	timelines *timelines
	streams   chan struct{} // one slot per live feed
	feeds     feedCounts    // feeds open per viewer
	count     func(name string, labels ...string)
}

// New builds the dashboard. It follows u's changes until ctx ends (a rollout's
// timeline keeps the phases it saw).
func New(ctx context.Context, u Updater, records Records, o Options) *Server {
	if o.BasePath == "" {
		o.BasePath = "/"
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Count == nil {
		o.Count = func(string, ...string) {}
	}
	s := &Server{
		u: u, records: records, base: o.BasePath, token: o.Token, anonymous: o.AnonymousRead, log: o.Log, ctx: ctx,
		sessions:  newSessions(o.SessionTTL, time.Now, o.Token),
		logins:    newFailures(time.Now),
		state:     &stateCache{},
		timelines: newTimelines(),
		streams:   make(chan struct{}, maxStreams),
		count:     o.Count,
	}
	for _, p := range o.TrustedProxies {
		if pp, err := parseProxies([]string{p}); err == nil {
			s.proxies = append(s.proxies, pp...)
		}
	}
	s.refusals = s.log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Minute})
	s.sessions.file = o.SessionFile
	s.sessions.saved = func(err error) {
		if err != nil {
			s.log.Warn().Err(err).Msg("dashboard logins are not kept across a restart")
		}
	}
	if err := s.sessions.load(); err != nil {
		s.log.Warn().Err(err).Msg("dashboard logins of the previous process are lost")
	}
	go s.follow(ctx)
	return s
}

// Register mounts the dashboard under its base path. Without a token nothing is
// mounted. Error answers are application/problem+json, as the API's.
func (s *Server) Register(e *echo.Echo) {
	if s.token == "" {
		return
	}
	e.HTTPErrorHandler = api.ErrorHandler
	b := s.base
	if b != "/" {
		e.GET(strings.TrimSuffix(b, "/"), func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, b) })
	}
	e.GET(b, s.index, s.viewer(true))
	e.GET(b+"login", s.loginPage)
	e.POST(b+"login", s.login)
	e.POST(b+"logout", s.logout)
	e.GET(b+"assets/:name", s.asset)
	e.GET(b+"state", s.getState, s.viewer(false))
	e.GET(b+"session", s.session, s.viewer(false))
	e.GET(b+"rollouts/:id", s.rollout, s.viewer(true))
	e.GET(b+"events", s.events, s.viewer(false))
	e.POST(b+"actions/:action", s.action, s.actor)
}

// session answers whether the request may view (and act): a cheap question the page
// asks when its live feed was refused.
func (s *Server) session(c echo.Context) error {
	_, canAct := sessionOf(c)
	return sendJSON(c, http.StatusOK, map[string]bool{"can_act": canAct})
}

// index is the workloads page.
func (s *Server) index(c echo.Context) error {
	d := pageData{Root: "./"}
	if sess, ok := sessionOf(c); ok {
		d.CSRF, d.LoggedIn = sess.csrf, true
	}
	return s.render(c, http.StatusOK, "index.html", d)
}

// rollout is a rollout's page (…/rollouts/7) or its record as JSON (…/rollouts/7.json).
func (s *Server) rollout(c echo.Context) error {
	raw, asJSON := strings.CutSuffix(c.Param("id"), ".json")
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		return problem(http.StatusNotFound, "not-found", "a rollout is named by its number, such as rollouts/7")
	}
	r, err := s.records.Get(id)
	if err != nil {
		return problem(http.StatusNotFound, "not-found", "no rollout "+raw+" in the history")
	}
	if asJSON {
		return sendJSON(c, http.StatusOK, rolloutView{Rollout: r, Timeline: s.timelines.of(r)})
	}
	d := pageData{Root: "../", ID: id}
	if sess, ok := sessionOf(c); ok {
		d.CSRF, d.LoggedIn = sess.csrf, true
	}
	return s.render(c, http.StatusOK, "rollout.html", d)
}

// rolloutView is a record with the phases it went through.
type rolloutView struct {
	updater.Rollout
	Timeline []mark `json:"timeline"`
}
