// Package config parses and validates hoist's configuration file: runtime settings
// (listen address, data directory, Docker host, registries, API and webhook secrets,
// polling) and the policies section as plain data.
//
// Parsing is strict: unknown keys are errors, and every problem is reported at once
// with its line. Secrets are held in [Secret], which prints as "<secret>".
//
// config is pure: it performs no I/O beyond what its caller hands it and imports no
// other hoist package.
package config
