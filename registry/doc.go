// Package registry is hoist's only way to a container registry. It wraps
// go-containerregistry: it resolves a tag to the digest the registry serves now (a
// HEAD request, never a pull), lists tags, and polls. It owns [PushEvent], the
// "this tag may have moved" hint that webhooks and the poller both produce.
//
// registry must not import the Docker client or any other hoist package but config.
package registry
