// Package store keeps hoist's records in a bbolt file in data_dir: every rollout (from
// its start, through each phase it enters, to its outcome), the digests quarantined
// per workload, first sightings of digests and approvals. It survives restarts; a
// serving hoist holds it alone, tools read it shared.
//
// The store enforces what a record may become: a phase change the table in phases.go
// does not allow is refused. It knows nothing of policies, registries or engines: a
// record's plan is the caller's type, of which the store reads only how long its
// watch lasts. The updater reaches it through the small interfaces it declares.
//
// store must not import any other hoist package.
package store
