package config

// What a policy's rollout.compose_file may say.
const (
	// ComposeFileWarn (the default, also when empty) leaves a compose project's file
	// alone when a compose service moves to another tag, and says that it still names
	// the old one.
	ComposeFileWarn = "warn"
	// ComposeFileWrite rewrites the file's image value (or the .env variable it uses)
	// to the new tag.
	ComposeFileWrite = "write"
)

func validateComposeFile(v *validator, at, s string) {
	switch s {
	case "", ComposeFileWarn, ComposeFileWrite:
	default:
		v.addf(at, "compose_file %q: use warn (say that the compose file still names the old tag) or write (update the file)", s)
	}
}
