package policy

import "time"

// Verify says a rule rolls out only signed digests. Which signatures count is checked
// outside this package (hoist's verify package, through the updater's Signatures); the
// rule carries who may sign, as written, and how long an unsigned digest is held.
type Verify struct {
	// Keys are paths of PEM public keys.
	Keys []string
	// Identities are Fulcio certificate identities: {issuer, subject regexp}.
	Identities [][2]string
	// TrustedRoot is the path of a sigstore trusted root, for the identities.
	TrustedRoot string
	// RequireAll: every key and identity must have signed (else any one suffices).
	RequireAll bool
	// Wait is how long after a digest is first seen its signature may still arrive.
	Wait time.Duration
}
