package composefile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// BackupSuffix is added to a file's name for the copy hoist keeps of it before an edit.
const BackupSuffix = ".hoist-bak"

// scalarSpan returns the byte span of a scalar node's text in data, inside its quotes.
func scalarSpan(file string, data []byte, n *yaml.Node) (start, end int, err error) {
	pos, ok := offsetOf(data, n.Line, n.Column)
	if !ok {
		return 0, 0, fail(Unsupported, file, "line %d column %d: not found in the file", n.Line, n.Column)
	}
	// A scalar on one line without escapes is written as its value: plain, or between
	// its quotes. Anything else (escapes, folded lines) is not rewritten by hand.
	start = pos
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	if quoted {
		start++
	}
	end = start + len(n.Value)
	if end > len(data) || string(data[start:end]) != n.Value || strings.Contains(n.Value, "\n") ||
		quoted && (end >= len(data) || data[end] != data[pos]) {
		return 0, 0, fail(Unsupported, file, "line %d: image %q is not written on one line without escapes", n.Line, n.Value)
	}
	return start, end, nil
}

// offsetOf turns a 1-based line and column (in characters) into a byte offset.
func offsetOf(data []byte, line, col int) (int, bool) {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return 0, false
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, off < len(data)
}

// fitsStyle reports whether v can be written in the node's quoting style unchanged.
func fitsStyle(n *yaml.Node, v string) bool {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return !strings.ContainsAny(v, "\"\\\n")
	case n.Style&yaml.SingleQuotedStyle != 0:
		return !strings.ContainsAny(v, "'\n")
	}
	// Flow indicators ({}[],) are checked by reading the edited file back.
	return v != "" && !strings.ContainsAny(v, "\n") && !strings.Contains(v, " #") && !strings.Contains(v, ": ") && !strings.ContainsRune("!&*|>'\"%@`-?", rune(v[0]))
}

// splice returns data with [start,end) replaced by v.
func splice(data []byte, start, end int, v string) []byte {
	out := make([]byte, 0, len(data)+len(v))
	out = append(out, data[:start]...)
	out = append(out, v...)
	return append(out, data[end:]...)
}

// replaceFile writes data over path atomically (a temporary file in the same
// directory, renamed), keeping the mode and owner, after saving orig to
// path+BackupSuffix. It refuses when the file no longer holds orig.
func replaceFile(path string, orig, data []byte, fi os.FileInfo) error {
	if err := writeAtomic(path+BackupSuffix, orig, fi); err != nil {
		return err
	}
	now, _, err := readBounded(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(now, orig) {
		return fail(IO, path, "changed while hoist edited it; left as it is")
	}
	return writeAtomic(path, data, fi)
}

func writeAtomic(path string, data []byte, fi os.FileInfo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".hoist-*")
	if err != nil {
		return ioFail(path, "create a temporary file", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // fails once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(fi.Mode().Perm())
	}
	if err == nil {
		keepOwner(tmp, fi)
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ioFail(path, "write", err)
	}
	if err := os.Rename(name, path); err != nil {
		return ioFail(path, "rename into place", err)
	}
	return nil
}
