package config

import (
	"context"
	"fmt"
	"io"
	"os"
)

// LoadFile reads the file at path, no more than lim.MaxSize bytes of it, and loads it
// as [Load] does. A file that is not there gives an error that matches os.ErrNotExist.
func LoadFile(ctx context.Context, path string, getenv func(string) string, lim Limits) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, lim.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > lim.MaxSize {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("the file is larger than the %s a configuration may be", byteCount(lim.MaxSize))}}
	}
	return Load(ctx, path, data, getenv, lim)
}
