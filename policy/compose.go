package policy

import "fmt"

// ComposeFile says what a policy does about a compose project's file when it moves a
// compose service to another tag (semver and tags policies): the file still names
// the old tag, and `docker compose up` would bring it back.
type ComposeFile string

const (
	// ComposeWarn leaves the file alone and says, in the rollout's record, `hoist check`
	// and the dashboard, that it still names the old tag. The default.
	ComposeWarn ComposeFile = "warn"
	// ComposeWrite rewrites the one image value compose reads (or the .env variable it
	// uses) to the new tag, keeping the rest of the file, with a backup.
	ComposeWrite ComposeFile = "write"
)

// ParseComposeFile reads a policy's rollout.compose_file; empty means ComposeWarn.
func ParseComposeFile(s string) (ComposeFile, error) {
	switch ComposeFile(s) {
	case "", ComposeWarn:
		return ComposeWarn, nil
	case ComposeWrite:
		return ComposeWrite, nil
	}
	return "", fmt.Errorf("compose_file %q: use warn (say the compose file names the old tag) or write (update it)", s)
}
