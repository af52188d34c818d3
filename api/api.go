package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hoist-dev/hoist/registry"
	"github.com/hoist-dev/hoist/updater"
)

// Budgeter reports each registry's request budget (rate-limit headers, back-off).
type Budgeter interface {
	Budget() []registry.Budget
}

// Updater is what the API needs from the updater.
type Updater interface {
	Workloads(ctx context.Context) ([]updater.Status, error)
	Check(ctx context.Context, apply bool, trigger string) ([]updater.Status, error)
	Rollback(ctx context.Context, key string) error
	Finish(ctx context.Context, key string) error
	Approve(ctx context.Context, key, digest string) (updater.Status, error)
	ClearQuarantine(key string) (int, error)
	Store() updater.RolloutReader
}

// Server holds the API's handlers.
type Server struct {
	u     Updater
	token string
	// base is the server's own context: manual actions run under it, not the request's.
	base    context.Context
	metrics *Metrics
	budget  Budgeter
}

// WithBudget exposes the registries' request budget at GET /api/v1/registries.
func (s *Server) WithBudget(b Budgeter) *Server {
	s.budget = b
	return s
}

// New builds the API. Without a token the /api/v1 routes are not mounted.
func New(base context.Context, u Updater, token string, m *Metrics) *Server {
	return &Server{u: u, token: token, base: base, metrics: m}
}

// Register mounts the routes.
func (s *Server) Register(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	if s.metrics != nil {
		e.GET("/metrics", s.metrics.serve)
	}
	if s.token == "" {
		return
	}
	g := e.Group("/api/v1", s.auth)
	g.GET("/workloads", s.workloads)
	g.GET("/rollouts", s.rollouts)
	g.POST("/check", s.check)
	g.POST("/workloads/:kind/:name/rollback", s.rollback)
	g.POST("/workloads/:kind/:name/finish", s.finish)
	g.POST("/workloads/:kind/:name/approve", s.approve)
	g.DELETE("/workloads/:kind/:name/quarantine", s.clearQuarantine)
	g.GET("/registries", s.registries)
}

func (s *Server) registries(c echo.Context) error {
	out := []registry.Budget{}
	if s.budget != nil {
		out = append(out, s.budget.Budget()...)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) auth(next echo.HandlerFunc) echo.HandlerFunc {
	want := []byte("Bearer " + s.token)
	return func(c echo.Context) error {
		got := []byte(c.Request().Header.Get(echo.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return echo.NewHTTPError(http.StatusUnauthorized, "missing or wrong bearer token")
		}
		return next(c)
	}
}

func (s *Server) workloads(c echo.Context) error {
	sts, err := s.u.Workloads(c.Request().Context())
	if err != nil {
		return echo.NewHTTPError(http.StatusBadGateway, err.Error())
	}
	type item struct {
		updater.Status
		Quarantined []updater.Quarantine `json:"quarantined,omitempty"`
	}
	qs, _ := s.u.Store().Quarantines("")
	out := make([]item, len(sts))
	for i, st := range sts {
		out[i].Status = st
		for _, q := range qs {
			if q.Workload == st.Workload.Key() {
				out[i].Quarantined = append(out[i].Quarantined, q)
			}
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) rollouts(c echo.Context) error {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	rs, err := s.u.Store().Rollouts(c.QueryParam("workload"), limit)
	if err != nil {
		return echo.NewHTTPError(http.StatusInternalServerError, err.Error())
	}
	if rs == nil {
		rs = []updater.Rollout{}
	}
	return c.JSON(http.StatusOK, rs)
}

func (s *Server) check(c echo.Context) error {
	ctx, cancel := context.WithTimeout(s.base, 2*time.Minute)
	defer cancel()
	sts, err := s.u.Check(ctx, true, "api")
	if err != nil {
		return echo.NewHTTPError(http.StatusBadGateway, err.Error())
	}
	return c.JSON(http.StatusOK, sts)
}

func workloadKey(c echo.Context) (string, error) {
	kind := c.Param("kind")
	if kind != "service" && kind != "container" {
		return "", echo.NewHTTPError(http.StatusBadRequest, "kind must be service or container")
	}
	return kind + "/" + strings.TrimPrefix(c.Param("name"), "/"), nil
}

func (s *Server) rollback(c echo.Context) error { return s.manual(c, s.u.Rollback) }
func (s *Server) finish(c echo.Context) error   { return s.manual(c, s.u.Finish) }

func (s *Server) manual(c echo.Context, do func(context.Context, string) error) error {
	key, err := workloadKey(c)
	if err != nil {
		return err
	}
	// Run under the server's context: a client that hangs up must not abandon a rollback.
	ctx, cancel := context.WithTimeout(s.base, 10*time.Minute)
	defer cancel()
	if err := do(ctx, key); err != nil {
		if errors.Is(err, updater.ErrNoWorkload) {
			return echo.NewHTTPError(http.StatusNotFound, err.Error())
		}
		if errors.Is(err, updater.ErrBusy) {
			return echo.NewHTTPError(http.StatusConflict, err.Error())
		}
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	return c.JSON(http.StatusOK, map[string]string{"workload": key, "status": "done"})
}

// approve lets the update waiting for a workload's approval go ahead; ?digest= names
// the digest reviewed, and must still be the one waiting.
func (s *Server) approve(c echo.Context) error {
	key, err := workloadKey(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.base, 2*time.Minute)
	defer cancel()
	st, err := s.u.Approve(ctx, key, c.QueryParam("digest"))
	switch {
	case errors.Is(err, updater.ErrNoWorkload):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, updater.ErrNothingToApprove):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case err != nil:
		return echo.NewHTTPError(http.StatusBadGateway, err.Error())
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) clearQuarantine(c echo.Context) error {
	key, err := workloadKey(c)
	if err != nil {
		return err
	}
	n, err := s.u.ClearQuarantine(key)
	if errors.Is(err, updater.ErrNotQuarantined) {
		return echo.NewHTTPError(http.StatusNotFound, "nothing quarantined for "+key)
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusInternalServerError, err.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"workload": key, "cleared": n})
}
