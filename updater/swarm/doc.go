// Package swarm is hoist's backend for Docker Swarm services. It moves a service to a
// pinned image (repo:tag@sha256:…) through Swarm's own rolling update, follows that
// update to its real end (a fresh UpdateStatus, then running tasks on the new image),
// keeps watching the new tasks for a while after Swarm calls the update completed, and
// rolls the service back itself when they exit, fail or turn unhealthy.
//
// Only the backends (this package and updater/container) and cmd import the Docker
// client; swarm imports no hoist package but updater and policy.
package swarm
