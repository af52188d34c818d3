package problem

// titles are the kinds of problem hoist answers with, by slug: one title per type,
// whichever server answers it.
var titles = map[string]string{
	"bad-request":            "Bad request",
	"bad-payload":            "Bad webhook payload",
	"invalid-parameter":      "Invalid parameter",
	"unauthorized":           "Unauthorized",
	"forbidden":              "Forbidden",
	"not-found":              "Not found",
	"method-not-allowed":     "Method not allowed",
	"no-such-workload":       "No such workload",
	"not-quarantined":        "Nothing quarantined",
	"busy":                   "Rollout in progress",
	"nothing-kept":           "Nothing kept for a manual rollback",
	"finish-service":         "Finish does not apply to services",
	"nothing-to-approve":     "Nothing to approve",
	"engine-error":           "The engine or a registry did not answer as expected",
	"action-failed":          "The manual action failed",
	"too-large":              "Request body too large",
	"too-many-events":        "Too many events",
	"too-many-requests":      "Too many requests",
	"rate-limited":           "Too many requests",
	"unsupported-media-type": "Unsupported media type",
	"headers-too-large":      "Request header fields too large",
	"internal":               "Internal error",
	"service-unavailable":    "Service unavailable",
}

// Title is the title of the problem kind slug, "" for a slug hoist does not answer.
func Title(slug string) string { return titles[slug] }
