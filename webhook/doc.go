// Package webhook turns registry push notifications into [registry.PushEvent] hints.
//
// Each source (Docker Hub, Distribution, GHCR, Quay, Harbor, Gitea/Forgejo, ACR,
// JFrog, GAR, ECR and a generic signed form) has one file holding a pure parser,
// parse<Source>(body) ([]registry.PushEvent, error), and the way that sender
// authenticates. The HTTP handler is the same for every source: cap the body and
// reserve memory for it from a budget all deliveries in flight share (budget.go),
// authenticate in constant time over the raw bytes, rate-limit, count its entries
// (at most MaxEvents in any list, bound.go) and parse, drop
// duplicate deliveries and coalesce bursts per repository:tag, hand each event to a
// [Sink], whose Enqueue never waits (the updater's reads its last listing and never
// the engine), and answer 202. Events are hints: digests and other
// claims in payloads are ignored, whoever acts resolves the tag itself.
//
// Nothing here logs a body, a token or a URL path that holds one.
//
// webhook imports config, registry and internal/problem (its error answers) only: never
// policy, updater or the Docker client.
package webhook
