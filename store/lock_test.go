package store

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLockHolder(t *testing.T) {
	const locks = `1: OFDLCK ADVISORY  WRITE -1 fe:00:9994337 0 EOF
2: FLOCK  ADVISORY  WRITE 6962 fe:00:9994329 0 EOF
3: FLOCK  ADVISORY  READ  7001 08:11:42 0 EOF
3: -> FLOCK  ADVISORY  WRITE 7002 08:11:42 0 EOF
4: POSIX  ADVISORY  WRITE 0 103:02:77 0 EOF
`
	for _, tc := range []struct {
		name         string
		major, minor uint32
		ino          uint64
		want         int
	}{
		{"write lock", 0xfe, 0, 9994329, 6962},
		{"read lock with a waiter", 8, 0x11, 42, 7001},
		{"open file description lock: no pid", 0xfe, 0, 9994337, 0},
		{"pid not visible here", 0x103, 2, 77, 0},
		{"other inode", 0xfe, 0, 1, 0},
		{"other device", 0xfd, 0, 9994329, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lockHolder(locks, tc.major, tc.minor, tc.ino); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestStoreInUse: a store another process holds is refused within about a second,
// naming the process (this one, which holds it through another descriptor).
func TestStoreInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := Open[plan](dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, readOnly := range []bool{false, true} {
		start := time.Now()
		_, err := Open[plan](dir, readOnly)
		took := time.Since(start)
		var inUse *InUseError
		if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "data_dir "+dir+" is in use by") {
			t.Fatalf("read-only %v: %v, want a InUseError", readOnly, err)
		}
		if runtime.GOOS == "linux" && inUse.PID != os.Getpid() {
			t.Errorf("read-only %v: pid %d, want %d (this process): %v", readOnly, inUse.PID, os.Getpid(), err)
		}
		if took > 2*time.Second {
			t.Errorf("read-only %v: took %v", readOnly, took)
		}
		t.Logf("%v in %v", err, took.Round(time.Millisecond))
	}
}
