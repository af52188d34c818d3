package composefile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const (
	repo    = "127.0.0.1:5000/app"
	digest1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digest2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// project copies testdata/<dir> into a temporary project directory.
func project(t *testing.T, dir, service string, files ...string) Project {
	t.Helper()
	wd := t.TempDir()
	src := filepath.Join("testdata", dir)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wd, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	p := Project{WorkingDir: wd, Service: service}
	for _, f := range files {
		p.Files = append(p.Files, filepath.Join(wd, f))
	}
	return p
}

func TestUpdate(t *testing.T) {
	old, nu := repo+":1.4", repo+":1.5@"+digest2
	for _, tc := range []struct {
		name, dir, service string
		files              []string
		old                string
		also               []string // other services the rollout moved
		written            string   // the file written, its golden in testdata/<dir>/want/
		reason             Reason
	}{
		{name: "comments and layout kept", dir: "comments", files: []string{"compose.yaml"}, written: "compose.yaml"},
		{name: "double quotes kept", dir: "quoted", files: []string{"compose.yaml"}, written: "compose.yaml"},
		{name: "single quotes kept", dir: "quoted-single", service: "worker", files: []string{"compose.yaml"}, written: "compose.yaml"},
		{name: "flow mapping", dir: "flow", files: []string{"compose.yaml"}, written: "compose.yaml"},
		{name: "pinned digest follows", dir: "digest", files: []string{"compose.yaml"}, old: repo + ":1.4@" + digest1, written: "compose.yaml"},
		{name: "last file that sets it wins", dir: "override", files: []string{"docker-compose.yml", "docker-compose.override.yml"}, written: "docker-compose.override.yml"},
		{name: "override without image", dir: "override-base", files: []string{"docker-compose.yml", "docker-compose.override.yml"}, written: "docker-compose.yml"},
		{name: "${TAG} in .env", dir: "env", files: []string{"compose.yaml"}, written: ".env"},
		{name: "${TAG:-1.4} default in the file", dir: "default", files: []string{"compose.yaml"}, written: "compose.yaml"},
		{name: "${TAG:-1.3} set in .env", dir: "default-env", files: []string{"compose.yaml"}, written: ".env"},
		{name: "whole image in a variable", dir: "image-var", files: []string{"compose.yaml"}, written: ".env"},
		{name: "${TAG} shared with a service not moved", dir: "env-shared", files: []string{"compose.yaml"}, reason: Variable},
		{name: "${TAG} shared with a service moved too", dir: "env-shared", files: []string{"compose.yaml"}, also: []string{"worker"}, written: ".env"},
		{name: "variable from the caller's environment", dir: "env-missing", files: []string{"compose.yaml"}, reason: Variable},
		{name: "tag not in the variable", dir: "tag-in-literal", files: []string{"compose.yaml"}, reason: Variable},
		{name: "extends", dir: "extends", files: []string{"compose.yaml"}, reason: Extends},
		{name: "image not found", dir: "notfound", files: []string{"compose.yaml"}, reason: NotFound},
		{name: "alias", dir: "alias", files: []string{"compose.yaml"}, reason: Unsupported},
		{name: "file names another tag", dir: "mismatch", files: []string{"compose.yaml"}, reason: Mismatch},
		{name: "already there", dir: "already", files: []string{"compose.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.service == "" {
				tc.service = "web"
			}
			if tc.old == "" {
				tc.old = old
			}
			p := project(t, tc.dir, tc.service, tc.files...)
			before := snapshot(t, p.WorkingDir)
			ch, err := Update(p, tc.old, nu, tc.also...)
			if tc.reason != "" {
				if got := ReasonOf(err); got != tc.reason {
					t.Fatalf("reason %q (err %v), want %q", got, err, tc.reason)
				}
				assertSame(t, before, snapshot(t, p.WorkingDir))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			after := snapshot(t, p.WorkingDir)
			if tc.written == "" {
				if ch.File != "" {
					t.Fatalf("wrote %s, want nothing", ch.File)
				}
				assertSame(t, before, after)
				return
			}
			checkWritten(t, p, tc.dir, tc.written, ch, before, after)
		})
	}
}

// checkWritten checks the one file written against its golden, its backup, its mode,
// and that nothing else changed.
func checkWritten(t *testing.T, p Project, dir, written string, ch Change, before, after map[string]string) {
	t.Helper()
	path := filepath.Join(p.WorkingDir, written)
	if ch.File != path {
		t.Errorf("wrote %s, want %s (%s)", ch.File, path, ch)
	}
	want, err := os.ReadFile(filepath.Join("testdata", dir, "want", written))
	if err != nil {
		t.Fatal(err)
	}
	if after[written] != string(want) {
		t.Errorf("%s:\n%s\nwant:\n%s", written, after[written], want)
	}
	if after[written+BackupSuffix] != before[written] {
		t.Errorf("backup holds %q, want the old file", after[written+BackupSuffix])
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after the write: %v %v, want 0640", fi.Mode(), err)
	}
	delete(after, written)
	delete(after, written+BackupSuffix)
	delete(before, written)
	assertSame(t, before, after)
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			out[e.Name()] = string(b)
		}
	}
	return out
}

func assertSame(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("files %v became %v", keys(before), keys(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed:\n%s", k, after[k])
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestUpdateOutsideProject(t *testing.T) {
	p := project(t, "comments", "web")
	outside := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.Rename(filepath.Join(p.WorkingDir, "compose.yaml"), outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(p.WorkingDir, "compose.yaml")); err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][]string{
		"symlink out of the project": {filepath.Join(p.WorkingDir, "compose.yaml")},
		"file outside the project":   {outside},
	} {
		t.Run(name, func(t *testing.T) {
			before, _ := os.ReadFile(outside)
			_, err := Update(Project{Files: files, WorkingDir: p.WorkingDir, Service: "web"}, repo+":1.4", repo+":1.5")
			if ReasonOf(err) != OutsideProject {
				t.Fatalf("err %v, want %q", err, OutsideProject)
			}
			after, _ := os.ReadFile(outside)
			if !bytes.Equal(before, after) {
				t.Error("the file outside the project changed")
			}
			if _, err := os.Stat(outside + BackupSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a backup was written outside the project: %v", err)
			}
		})
	}
}

func TestUpdateTooLarge(t *testing.T) {
	p := project(t, "comments", "web", "compose.yaml")
	f, err := os.OpenFile(p.Files[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("# " + strings.Repeat("x", MaxFileSize) + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Update(p, repo+":1.4", repo+":1.5"); ReasonOf(err) != TooLarge {
		t.Fatalf("err %v, want %q", err, TooLarge)
	}
}

// A compose file label naming a FIFO is refused without waiting for a writer.
func TestUpdateNotRegular(t *testing.T) {
	p := project(t, "comments", "web", "compose.yaml")
	if err := os.Remove(p.Files[0]); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p.Files[0], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(p, repo+":1.5"); ReasonOf(err) != Unsupported {
		t.Fatalf("err %v, want %q", err, Unsupported)
	}
}
