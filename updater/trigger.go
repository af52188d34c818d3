package updater

import "github.com/hoist-dev/hoist/registry"

// Trigger names what asked for a check: a registry's webhook (its source name) or one
// of hoist's own. A rollout's record carries it.
type Trigger string

// hoist's own triggers. Internal re-checks requeue a job by key with one of these (or
// with the webhook that started them) and never forge a push event.
const (
	TriggerPoll     Trigger = "poll"
	TriggerSchedule Trigger = "schedule" // a deferred update's window or min_age, a signature's backoff
	TriggerRetry    Trigger = "retry"    // a check that failed on a registry's bad minute, a cleared quarantine
	TriggerApprove  Trigger = "approve"
	TriggerResume   Trigger = "resume"
	TriggerPromote  Trigger = "promote" // a soak in an earlier stage ended, or its metric gate is due (promote.go)
)

// FromWebhook reports whether t names a registry's push notification.
func (t Trigger) FromWebhook() bool { return registry.FromWebhook(string(t)) }
