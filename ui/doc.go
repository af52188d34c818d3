// Package ui serves hoist's web dashboard: the workloads and their state, each
// rollout's record and timeline, the manual actions (approve, roll back, retry, check
// now) and a live feed of the updater's changes over server-sent events. Its pages and
// assets are embedded; it reads and acts through the same updater methods as the API,
// behind a login with the API token.
//
// ui must not import the Docker client; of hoist's packages it imports only updater
// and api (for the problem answers).
package ui
