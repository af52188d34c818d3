//go:build unix

package composefile

import (
	"os"
	"syscall"
)

// keepOwner gives f the owner of the file it replaces, when the process may: a file
// hoist (running as root) rewrote stays editable by its user. Failing is not an error.
func keepOwner(f *os.File, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}
