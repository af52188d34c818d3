package ui

import (
	"net/http"

	"github.com/hoist-dev/hoist/api"
	httpproblem "github.com/hoist-dev/hoist/internal/problem"
)

// problem is an error answer in the API's shape (application/problem+json, titles from
// internal/problem); the error handler api.Register installs writes it.
func problem(status int, slug, detail string) *api.Problem {
	return httpproblem.New(status, slug, detail)
}

func forbidden(detail string) *api.Problem { return problem(http.StatusForbidden, "forbidden", detail) }

func unauthorized() *api.Problem {
	return problem(http.StatusUnauthorized, "unauthorized", "log in to the dashboard with the API token")
}
