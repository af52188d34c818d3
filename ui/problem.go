package ui

import (
	"net/http"

	"github.com/hoist-dev/hoist/api"
)

// titles are the dashboard's kinds of problem; those the API answers too read the same.
var titles = map[string]string{
	"bad-request":            "Bad request",
	"invalid-parameter":      "Invalid parameter",
	"unauthorized":           "Unauthorized",
	"forbidden":              "Forbidden",
	"not-found":              "Not found",
	"no-such-workload":       "No such workload",
	"not-quarantined":        "Nothing quarantined",
	"busy":                   "Rollout in progress",
	"nothing-kept":           "Nothing kept for a manual rollback",
	"nothing-to-approve":     "Nothing to approve",
	"engine-error":           "The engine or a registry did not answer as expected",
	"action-failed":          "The manual action failed",
	"too-large":              "Request body too large",
	"too-many-requests":      "Too many requests",
	"unsupported-media-type": "Unsupported media type",
	"internal":               "Internal error",
	"service-unavailable":    "Service unavailable",
}

// problem is an error answer in the API's shape (application/problem+json); the
// error handler api.Register installs writes it.
func problem(status int, slug, detail string) *api.Problem {
	return &api.Problem{Type: api.ProblemType + slug, Title: titles[slug], Status: status, Detail: detail}
}

func forbidden(detail string) *api.Problem { return problem(http.StatusForbidden, "forbidden", detail) }

func unauthorized() *api.Problem {
	return problem(http.StatusUnauthorized, "unauthorized", "log in to the dashboard with the API token")
}
