package ui

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hoist-dev/hoist/api"
	"github.com/hoist-dev/hoist/updater"
)

// actionBody is what an action posts: the workload, and for approve the digest shown.
type actionBody struct {
	Workload string `json:"workload"`
	Digest   string `json:"digest"`
}

// actionResult is an action's answer; the page shows Message.
type actionResult struct {
	Workload string `json:"workload,omitempty"`
	Message  string `json:"message"`
}

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	nameRE   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)
)

// maxActionBody bounds an action's JSON body.
const maxActionBody = 4 << 10

// action runs approve, rollback, retry or check, as the API does, under the server's
// own context: a page closed meanwhile does not cut a rollback short.
func (s *Server) action(c echo.Context) error {
	name := c.Param("action")
	do, ok := map[string]func(actionBody) (string, error){
		"approve": s.approve, "rollback": s.rollback, "retry": s.retry, "check": s.check,
	}[name]
	if !ok {
		return problem(http.StatusNotFound, "not-found", "no such action; use approve, rollback, retry or check")
	}
	body, err := readAction(c.Request())
	if err != nil {
		return err
	}
	if name != "check" {
		if p := checkWorkload(body.Workload); p != nil {
			return p
		}
	}
	msg, err := do(body)
	if err != nil {
		s.log.Info().Str("action", name).Str("workload", body.Workload).Err(err).Msg("dashboard action refused or failed")
		p := api.ActionProblem(err)
		s.counted(name, p.Status)
		return p
	}
	s.log.Info().Str("action", name).Str("workload", body.Workload).Msg("dashboard action")
	s.counted(name, http.StatusOK)
	return sendJSON(c, http.StatusOK, actionResult{Workload: body.Workload, Message: msg})
}

// counted counts a manual action in hoist_manual_actions_total as the API does: done,
// refused (4xx) or failed (5xx). A check is not a manual action there.
func (s *Server) counted(action string, status int) {
	if action == "check" {
		return
	}
	result := "done"
	switch {
	case status >= 500:
		result = "failed"
	case status >= 400:
		result = "refused"
	}
	s.count("hoist_manual_actions_total", "action", action, "result", result)
}

func readAction(r *http.Request) (actionBody, error) {
	var b actionBody
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return b, problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "send the action as application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxActionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, problem(http.StatusBadRequest, "bad-request", "the action's body is not {workload, digest}: "+err.Error())
	}
	return b, nil
}

// checkWorkload validates a "kind/name" key.
func checkWorkload(key string) *api.Problem {
	kind, name, _ := strings.Cut(key, "/")
	if (kind != "service" && kind != "container") || !nameRE.MatchString(name) {
		return problem(http.StatusBadRequest, "invalid-parameter", "workload: write KIND/NAME, such as service/web")
	}
	return nil
}

func (s *Server) approve(b actionBody) (string, error) {
	if !digestRE.MatchString(b.Digest) {
		return "", problem(http.StatusBadRequest, "invalid-parameter", "digest: approve names the digest shown, sha256: and 64 hex digits")
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute)
	defer cancel()
	if _, err := s.u.Approve(ctx, b.Workload, b.Digest); err != nil {
		return "", err
	}
	return "approved " + b.Digest + " for " + b.Workload, nil
}

func (s *Server) rollback(b actionBody) (string, error) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Minute)
	defer cancel()
	if err := s.u.Rollback(ctx, b.Workload); err != nil {
		return "", err
	}
	return b.Workload + " rolled back", nil
}

func (s *Server) retry(b actionBody) (string, error) {
	n, err := s.u.ClearQuarantine(b.Workload)
	if err != nil {
		return "", err
	}
	return plural(n, "digest") + " cleared from quarantine for " + b.Workload + "; checking again", nil
}

func (s *Server) check(actionBody) (string, error) {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute)
	defer cancel()
	sts, err := s.u.Check(ctx, true, "ui")
	if err != nil {
		return "", err
	}
	s.state.invalidate()
	due := 0
	for _, st := range sts {
		if st.Action == updater.WouldUpdate {
			due++
		}
	}
	return "checked " + plural(len(sts), "workload") + ", " + plural(due, "update") + " started", nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
