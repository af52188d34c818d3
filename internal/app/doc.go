// Package app builds hoist from a configuration — logger, Docker client, store,
// registry clients, backends, updater, notifier, policies compiled from the file — and
// serves it: webhooks, API, dashboard, poller, housekeeping and configuration reloads.
// `hoist serve`, `hoist check` and `hoist demo` run hoist through it; the updater is
// built in one place (newUpdater).
//
// app imports every hoist package it wires and the Docker client; only cmd/hoist,
// internal/demo (which runs hoist in its process) and tests import app.
package app
