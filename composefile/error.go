package composefile

import (
	"errors"
	"fmt"
)

// Reason says why a compose file was not written.
type Reason string

// Reasons an [Error] carries.
const (
	// NotCompose: the container carries no compose labels (or they are incomplete).
	NotCompose Reason = "not a compose service"
	// NotFound: no file sets the service's image.
	NotFound Reason = "image not found"
	// Extends: the service uses extends; where its image comes from is not guessed.
	Extends Reason = "extends"
	// Unsupported: the value is written in a form hoist does not edit (alias, anchor,
	// merge key, block scalar, several variables).
	Unsupported Reason = "unsupported form"
	// Variable: the value's variable is not set where hoist can change it.
	Variable Reason = "variable"
	// Mismatch: the file names another image than the one the container ran.
	Mismatch Reason = "mismatch"
	// OutsideProject: a file lies outside the project directory.
	OutsideProject Reason = "outside the project"
	// TooLarge: a file is larger than MaxFileSize.
	TooLarge Reason = "too large"
	// IO: reading or writing a file failed.
	IO Reason = "i/o"
)

// Error says why the compose file was not written (or could not be read).
type Error struct {
	Reason Reason
	// File is the file concerned, when there is one.
	File   string
	Detail string
	Err    error
}

func (e *Error) Error() string {
	msg := e.Detail
	if e.File != "" {
		msg = e.File + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason carried by err, or "" when err is not an [Error].
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func fail(r Reason, file, format string, args ...any) *Error {
	return &Error{Reason: r, File: file, Detail: fmt.Sprintf(format, args...)}
}

func ioFail(file, what string, err error) *Error {
	return &Error{Reason: IO, File: file, Detail: what, Err: err}
}
