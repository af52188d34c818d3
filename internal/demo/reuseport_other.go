//go:build !linux

package demo

import "syscall"

// reusePort does nothing outside Linux: the demo's images run Linux.
func reusePort(network, address string, c syscall.RawConn) error { return nil }
