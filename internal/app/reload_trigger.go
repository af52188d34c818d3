package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// WatchEvery is how often Options.WatchConfig looks at the file.
const WatchEvery = time.Second

// start reloads on each SIGHUP of hup and, with watch, when the file changes, until
// ctx ends.
func (r *reloader) start(ctx context.Context, hup <-chan os.Signal, watch bool) {
	go r.onSIGHUP(ctx, hup)
	if watch {
		go r.watch(ctx, WatchEvery)
	}
}

// onSIGHUP reloads the configuration at each SIGHUP until ctx ends. Signals that
// arrive during a reload make one more.
func (r *reloader) onSIGHUP(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload(ctx, "sighup")
		}
	}
}

// notifyHUP starts taking SIGHUP (its default would end the process); stop gives it back.
func notifyHUP() (hup <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// watch reloads the configuration when the file's content changes, looking every
// interval until ctx ends. It follows a symbolic link (a Kubernetes ConfigMap's file is
// one whose target is replaced), and a file seen mid-write is read again once it has
// stayed the same for one look.
func (r *reloader) watch(ctx context.Context, every time.Duration) {
	path := r.file
	last := fileSum(path)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := fileSum(path)
		if now == nil || bytes.Equal(now, last) {
			continue // gone for a moment (replaced), or unchanged
		}
		select { // let a write in progress end
		case <-ctx.Done():
			return
		case <-time.After(every / 4):
		}
		if again := fileSum(path); !bytes.Equal(again, now) {
			continue // still changing: the next look takes it
		}
		last = now
		r.reload(ctx, "file-changed")
	}
}

// watchMaxRead is the largest file watch reads to compare; a larger one (or one that
// is not a regular file) is compared by size and time, and the reload refuses it.
const watchMaxRead = 16 << 20

// fileSum returns the SHA-256 of path's content, or nil when it cannot be read.
func fileSum(path string) []byte {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if !fi.Mode().IsRegular() || fi.Size() > watchMaxRead {
		return []byte(fmt.Sprint(fi.Mode(), fi.Size(), fi.ModTime().UnixNano()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := sha256.Sum256(b)
	return s[:]
}
