package store

import (
	"fmt"
	"strconv"
	"strings"
)

// InUseError means another process holds the store in dir: a hoist serve (which
// holds it as long as it runs), or a hoist history or check reading it. PID is that
// process when the system tells (Linux's /proc/locks), else 0.
type InUseError struct {
	Dir string
	PID int
}

func (e *InUseError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("data_dir %s is in use by %s (a hoist serve holds its store while it runs); stop it, or give this hoist another data_dir", e.Dir, who)
}

// lockHolder parses /proc/locks for the process that holds a lock on the file with
// device major:minor and inode ino; 0 when none is listed (or its pid is not visible
// from here). Lines of waiters ("->") are passed over.
func lockHolder(procLocks string, major, minor uint32, ino uint64) int {
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, ino)
	for _, line := range strings.Split(procLocks, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] == "->" {
			continue
		}
		// id: TYPE ADVISORY|MANDATORY READ|WRITE pid maj:min:inode start end
		if f[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}
