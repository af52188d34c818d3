package app

import "errors"

// ErrUsage marks what a command line or its environment got wrong (a value hoist
// refuses before it dials anything); cmd/hoist exits 2 for it.
var ErrUsage = errors.New("usage")

// UsageError is a value hoist refuses, wrapping ErrUsage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }
func (e *UsageError) Unwrap() error { return ErrUsage }
