package demo

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort lets several replicas on the host network answer on one port: the kernel
// spreads new connections over them, and a new replica can start before an old one
// stops.
func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
