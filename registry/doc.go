// Package registry is hoist's only way to a container registry. It wraps
// go-containerregistry: it resolves a tag to the digest the registry serves now (a
// HEAD request, never a pull), lists tags, compares multi-arch indexes platform by
// platform, and polls. It owns [PushEvent], the "this tag may have moved" hint that
// webhooks and the poller both produce, and [Pinned], the image pinned to a digest
// ("repo:tag@sha256:…") that a rollout hands to the engine and a record keeps.
//
// Per registry it keeps one remembered ping, one authenticated transport (one per
// repository when the registry hands out Bearer tokens), a limiter that reads the
// rate-limit headers and backs off on 429/5xx, and under it a deadline on every request
// (host.go, ping.go, limit.go, deadline.go). A digest check's HEAD is built by hoist and
// sent through that transport (head.go). See docs/polling.md for costs and behaviour.
//
// registry must not import the Docker client or any other hoist package but config.
package registry
