package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"errors"
	"net/http"
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
	config  func() ConfigStatus
}

// WithBudget exposes the registries' request budget at GET /api/v1/registries.
func (s *Server) WithBudget(b Budgeter) *Server {
	s.budget = b
	return s
}

// New builds the API. Without a token the /api/v1 routes are not mounted. The metrics'
// known series are declared at zero.
func New(base context.Context, u Updater, token string, m *Metrics) *Server {
	m.declare()
	return &Server{u: u, token: token, base: base, metrics: m}
}

// openapi is the API's OpenAPI 3.1 document, served at GET /api/v1/openapi.json.
//
//go:embed openapi.json
var openapi []byte

// Register mounts the routes and makes ErrorHandler e's error handler: every error
// answer on e, the webhook receiver's included, is application/problem+json. A known
// path asked with a method it does not take answers 405 with Allow. Every GET route
// on e, the others' included, answers HEAD too, and a request whose headers exceed
// MaxHeaderBytes answers 431, and a handler that panics answers a 500 problem.
func (s *Server) Register(e *echo.Echo) {
	e.HTTPErrorHandler = ErrorHandler
	e.Pre(headAsGet, limitHeaders, recoverProblem)
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	if s.metrics != nil {
		e.GET("/metrics", func(c echo.Context) error { return s.metrics.serve(c, e.Routes()) })
	}
	if s.token == "" {
		return
	}
	// Authentication is per route, not a group middleware: a group's catch-all would
	// answer 404 where the method is what is wrong.
	const v1 = "/api/v1"
	e.GET(v1+"/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/json", openapi) }, s.auth)
	e.GET(v1+"/workloads", s.workloads, s.auth)
	e.GET(v1+"/rollouts", s.rollouts, s.auth)
	e.POST(v1+"/check", s.check, s.auth)
	e.POST(v1+"/workloads/:kind/:name/rollback", s.rollback, s.auth)
	e.POST(v1+"/workloads/:kind/:name/finish", s.finish, s.auth)
	e.POST(v1+"/workloads/:kind/:name/approve", s.approve, s.auth)
	e.DELETE(v1+"/workloads/:kind/:name/quarantine", s.clearQuarantine, s.auth)
	e.GET(v1+"/registries", s.registries, s.auth)
	if s.config != nil {
		e.GET(v1+"/config/status", s.configStatus, s.auth)
	}
}

func (s *Server) auth(next echo.HandlerFunc) echo.HandlerFunc {
	want := []byte("Bearer " + s.token)
	return func(c echo.Context) error {
		got := []byte(c.Request().Header.Get(echo.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hoist"`)
			return problem(http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <api.token>")
		}
		return next(c)
	}
}

func (s *Server) workloads(c echo.Context) error {
	sts, err := s.u.Workloads(c.Request().Context())
	if err != nil {
		return problem(http.StatusBadGateway, "engine-error", err.Error())
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
	limit, err := limitParam(c.QueryParam("limit"))
	if err != nil {
		return err
	}
	workload := c.QueryParam("workload")
	if workload != "" {
		if err := checkKey(workload); err != nil {
			return err
		}
	}
	rs, err := s.u.Store().Rollouts(workload, limit)
	if err != nil {
		return problem(http.StatusInternalServerError, "internal", "read the store: "+err.Error())
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
		return problem(http.StatusBadGateway, "engine-error", err.Error())
	}
	return c.JSON(http.StatusOK, sts)
}

// Manual actions, as counted in hoist_manual_actions_total{action,result}.
const (
	actionRollback = "rollback"
	actionFinish   = "finish"
	actionApprove  = "approve"
	actionRetry    = "retry"
)

func (s *Server) rollback(c echo.Context) error {
	return s.manual(c, actionRollback, s.u.Rollback)
}

func (s *Server) finish(c echo.Context) error {
	return s.manual(c, actionFinish, s.u.Finish)
}

// manual runs a rollback or finish under the server's context and answers with its
// result; refusals are 4xx, an action that was tried and failed is 502.
func (s *Server) manual(c echo.Context, action string, do func(context.Context, string) error) error {
	key, err := workloadKey(c)
	if err != nil {
		return err
	}
	// Run under the server's context: a client that hangs up must not abandon a rollback.
	ctx, cancel := context.WithTimeout(s.base, 10*time.Minute)
	defer cancel()
	if err := do(ctx, key); err != nil {
		return s.counted(action, ActionProblem(err))
	}
	s.metrics.Inc(manualMetric, "action", action, "result", resultDone)
	return c.JSON(http.StatusOK, map[string]string{"workload": key, "status": "done"})
}

// ActionProblem says why a manual action (rollback, finish, approve, retry) did not
// happen, or failed; the dashboard answers with it too.
func ActionProblem(err error) *Problem {
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, updater.ErrNoWorkload):
		return problem(http.StatusNotFound, "no-such-workload", err.Error())
	case errors.Is(err, updater.ErrBusy):
		return problem(http.StatusConflict, "busy", err.Error())
	case errors.Is(err, updater.ErrNothingKept):
		return problem(http.StatusConflict, "nothing-kept", err.Error())
	case errors.Is(err, updater.ErrFinishService):
		return problem(http.StatusBadRequest, "finish-service", err.Error())
	case errors.Is(err, updater.ErrNothingToApprove):
		return problem(http.StatusConflict, "nothing-to-approve", err.Error())
	case errors.Is(err, updater.ErrNotQuarantined):
		return problem(http.StatusNotFound, "not-quarantined", err.Error())
	}
	return problem(http.StatusBadGateway, "action-failed", err.Error())
}

// counted counts a manual action that did not happen (4xx) or failed (5xx), and
// returns p.
func (s *Server) counted(action string, p *Problem) *Problem {
	result := resultRefused
	if p.Status >= 500 {
		result = resultFailed
	}
	s.metrics.Inc(manualMetric, "action", action, "result", result)
	return p
}

// approve lets the update waiting for a workload's approval go ahead; ?digest= names
// the digest reviewed, and must still be the one waiting.
func (s *Server) approve(c echo.Context) error {
	key, err := workloadKey(c)
	if err != nil {
		return err
	}
	digest, err := digestParam(c.QueryParam("digest"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.base, 2*time.Minute)
	defer cancel()
	st, err := s.u.Approve(ctx, key, digest)
	switch {
	case errors.Is(err, updater.ErrNoWorkload):
		return s.counted(actionApprove, problem(http.StatusNotFound, "no-such-workload", err.Error()))
	case errors.Is(err, updater.ErrNothingToApprove):
		return s.counted(actionApprove, problem(http.StatusConflict, "nothing-to-approve", err.Error()))
	case err != nil:
		return s.counted(actionApprove, problem(http.StatusBadGateway, "engine-error", err.Error()))
	}
	s.metrics.Inc(manualMetric, "action", actionApprove, "result", resultDone)
	return c.JSON(http.StatusOK, st)
}

func (s *Server) clearQuarantine(c echo.Context) error {
	key, err := workloadKey(c)
	if err != nil {
		return err
	}
	n, err := s.u.ClearQuarantine(key)
	if errors.Is(err, updater.ErrNotQuarantined) {
		return s.counted(actionRetry, problem(http.StatusNotFound, "not-quarantined", "nothing quarantined for "+key))
	}
	if err != nil {
		return s.counted(actionRetry, problem(http.StatusInternalServerError, "internal", err.Error()))
	}
	s.metrics.Inc(manualMetric, "action", actionRetry, "result", resultDone)
	return c.JSON(http.StatusOK, map[string]any{"workload": key, "cleared": n})
}
