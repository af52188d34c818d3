// Package container is hoist's backend for standalone Docker containers: Rancher's
// in-service upgrade done automatically. It replaces a container by a copy of itself on
// a new image (same name, env, labels, volumes and their data, networks and aliases,
// ports, limits), gates the copy on its health, and brings the old container back —
// same ID, same data — when the copy fails. The replaced container is kept, stopped and
// renamed "<name>-hoist-prev", for a manual rollback until it expires — except for a
// docker compose member, which compose would count twice: its replacement names the
// previous image in a label instead, and a manual rollback swaps back onto it
// (compose.go). Once a rollout succeeded the engine's local tag follows the deployed
// image, as `docker pull` would; containers in a replaced container's network namespace
// are recreated onto the new one (follow.go), and a group goes in compose's depends_on
// order (order.go).
//
// Every step of a swap is recorded in the engine itself (container names and labels),
// so a hoist restarted mid-swap finds the half-done state and completes or reverses it
// (Recover) without any state of its own.
//
// The container hoist itself runs in is switched by a one-shot switcher container made
// from the running image (self.go, selfswap.go, selfswitch.go): it stops the old hoist,
// starts and watches the new one, and brings the old one back when it fails; the hoist
// that runs afterwards reads the verdict from the engine and records it (selfresume.go).
//
// Only the backends (this package, updater/swarm) and cmd import the Docker client. This
// package imports updater and policy, never the other way round, and nothing from
// registry, webhook or config.
package container
