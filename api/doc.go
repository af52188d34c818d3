// Package api serves hoist's JSON API under /api/v1 (bearer token) and /healthz and
// /metrics. It reads through the updater and triggers manual actions; it holds no state.
//
// api must not import the Docker client.
package api
