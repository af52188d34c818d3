package config

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// LoadFile reads the file at path, no more than lim.MaxSize bytes of it, and loads it
// as [Load] does. A file that is not there gives an error that matches os.ErrNotExist.
// Only a regular file is read: a named pipe, a device, a socket or a directory is
// refused at once (opening a pipe would wait for a writer, reading a device may never
// end), with a *NotRegularError. Reading stops with ctx's error when ctx ends.
func LoadFile(ctx context.Context, path string, getenv func(string) string, lim Limits) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	lim = lim.withDefaults()
	data, err := readRegular(ctx, path, lim.MaxSize+1)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim.MaxSize {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("the file is larger than the %s a configuration may be", byteCount(lim.MaxSize))}}
	}
	return Load(ctx, path, data, getenv, lim)
}

// NotRegularError means the configuration path names something other than a regular
// file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("config file %s is %s, not a regular file; hoist reads its configuration from a file", e.Path, modeName(e.Mode))
}

func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file (" + m.Type().String() + ")"
}

// readRegular reads at most max bytes of the regular file at path. The file is opened
// without blocking (a pipe swapped in after the first look cannot hold the open) and
// looked at again once open; the read runs aside so that ctx can end the wait.
func readRegular(ctx context.Context, path string, max int64) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, max))
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("read %s: %w", path, r.err)
		}
		return r.data, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("read %s: %w", path, ctx.Err())
	}
}
