package composefile

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Labels compose puts on the containers it creates.
const (
	LabelConfigFiles = "com.docker.compose.project.config_files"
	LabelWorkingDir  = "com.docker.compose.project.working_dir"
	LabelService     = "com.docker.compose.service"
)

// MaxFileSize bounds the compose and .env files hoist reads or writes.
const MaxFileSize = 1 << 20

// Project is where compose read a service's definition.
type Project struct {
	// Files are the compose files in the order compose merged them (absolute paths).
	Files []string
	// WorkingDir is the project directory: the .env file and every file hoist writes
	// are in it.
	WorkingDir string
	Service    string
}

// FromLabels reads a container's compose labels. ok is false when the container was
// not made by compose, or by a compose that does not record its files.
func FromLabels(labels map[string]string) (p Project, ok bool) {
	p.WorkingDir = labels[LabelWorkingDir]
	p.Service = labels[LabelService]
	for _, f := range strings.Split(labels[LabelConfigFiles], ",") {
		if f = strings.TrimSpace(f); f != "" {
			if !filepath.IsAbs(f) {
				f = filepath.Join(p.WorkingDir, f)
			}
			p.Files = append(p.Files, f)
		}
	}
	return p, p.WorkingDir != "" && p.Service != "" && len(p.Files) > 0 && filepath.IsAbs(p.WorkingDir)
}

// inside resolves path's symlinks and checks that it lies in the project directory. It
// returns the resolved path, the file hoist reads and writes.
func (p Project) inside(path string) (string, error) {
	dir, err := filepath.EvalSymlinks(p.WorkingDir)
	if err != nil {
		return "", ioFail(p.WorkingDir, "resolve the project directory", err)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", ioFail(path, "resolve", err)
	}
	rel, err := filepath.Rel(dir, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fail(OutsideProject, path, "resolves to %s, outside the project directory %s: hoist writes nothing there", real, dir)
	}
	return real, nil
}

// readBounded reads a file of at most MaxFileSize bytes.
func readBounded(path string) ([]byte, os.FileInfo, error) {
	// Checked before the open: opening a FIFO would wait for a writer.
	if fi, err := os.Stat(path); err != nil {
		return nil, nil, ioFail(path, "stat", err)
	} else if !fi.Mode().IsRegular() {
		return nil, nil, fail(Unsupported, path, "not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, ioFail(path, "open", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, ioFail(path, "stat", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fail(Unsupported, path, "not a regular file")
	}
	if fi.Size() > MaxFileSize {
		return nil, nil, fail(TooLarge, path, "%d bytes, more than the %d hoist reads", fi.Size(), MaxFileSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, nil, ioFail(path, "read", err)
	}
	if len(b) > MaxFileSize {
		return nil, nil, fail(TooLarge, path, "more than the %d bytes hoist reads", MaxFileSize)
	}
	return b, fi, nil
}
