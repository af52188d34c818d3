// Package updater decides, queues and records rollouts. It takes [registry.PushEvent]s
// from any trigger, matches them to workloads through the policy set, re-resolves the
// digest from the registry, skips duplicates and quarantined digests, runs one rollout
// per workload at a time through a [Backend] (updater/swarm, updater/container), and
// records every rollout through the small interfaces it declares in store.go ([Records]);
// package store keeps them in a bbolt file.
//
// updater must not import the Docker client: only its backends do.
package updater
