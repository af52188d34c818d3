// Package composefile keeps a docker compose project's files in step with a tag hoist
// rolled out. Compose records on each container the files it read
// (com.docker.compose.project.config_files), the project directory
// (com.docker.compose.project.working_dir) and the service; from these [Locate] finds
// the one `services.<svc>.image` value that decides the service's image — in the last
// file that sets it, as compose merges the files in order — and [Update] rewrites that
// value alone: the scalar's bytes in the original text, so comments, quoting and layout
// stay. A value built from a variable (`app:${TAG}`, `${TAG:-1.4}`) is updated where the
// variable is set: the project's .env, or the default in the file. [Check] says whether
// the file still names another tag than the one running, which `compose up` would bring
// back.
//
// It refuses rather than guesses ([Error] says why): a service that uses `extends`, a
// value under a YAML alias or anchor, a variable compose takes from its caller's
// environment, a file outside the project directory (symlinks resolved) or larger than
// [MaxFileSize]. Writes are atomic (a temporary file renamed over the original, with
// the original's mode) and leave the previous content in `<file>.hoist-bak`.
//
// composefile reads and writes only the files it is given and imports no other hoist
// package.
package composefile
