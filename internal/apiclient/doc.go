// Package apiclient is the one client of hoist's HTTP API (/api/v1, /healthz,
// /metrics): the CLI's commands that ask a running hoist serve (check, history, the
// manual actions) and the demo use it. An error answer is read as the RFC 9457 problem
// the API sends (internal/problem), and shown by its title and detail.
package apiclient
