// Package safetext makes text from outside hoist (workload names, image references,
// engine and registry reasons, container log tails, API answers) safe to show on a
// terminal, in a log or on a page: control characters (C0, DEL, C1) and the invisible
// characters that reorder or hide text (bidi overrides and isolates, line and paragraph
// separators) become visible escapes such as \x1b or \u202e, and bytes that are not
// UTF-8 become \xNN. Everything else is left as it is.
//
// It is pure (no I/O but the writer it wraps) and imports no hoist package.
package safetext
