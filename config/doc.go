// Package config parses and validates hoist's configuration file: runtime settings
// (listen address, data directory, Docker host, registries, API and webhook secrets,
// polling) and the policies section as plain data.
//
// Parsing is strict: unknown keys are errors, and every problem is reported at once
// with its line. Loading has a bounded cost whatever the input ([Limits]: size, nesting
// depth, tokens, values with aliases expanded), checked on the raw bytes before the
// YAML parser builds anything. Secrets are held in [Secret], which prints as "<secret>".
//
// config is pure: it reads only the file [LoadFile] is given and imports no other hoist
// package but policy, for the defaults they share (policy.DefaultTimeout).
package config
