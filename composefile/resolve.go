package composefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// resolved is a service's image value and how compose would read it.
type resolved struct {
	*site
	raw   string // the value as written (quotes removed)
	e     *expr  // the variable it uses, or nil
	value string // the image compose resolves it to
	// Where the variable is set, when it is set in the .env file.
	inEnv   bool
	env     envEntry
	envPath string
	envData []byte
	envInfo os.FileInfo
}

// resolve locates the service's image and interpolates it as compose would, with the
// project's .env file.
func (p Project) resolve() (*resolved, error) {
	s, err := p.locate()
	if err != nil {
		return nil, err
	}
	r := &resolved{site: s, raw: s.node.Value}
	lit, e, err := parseValue(s.file, r.raw)
	if err != nil {
		return nil, err
	}
	if e == nil {
		r.value = lit
		return r, nil
	}
	r.e = e
	if err := r.readEnv(filepath.Join(p.WorkingDir, ".env")); err != nil {
		return nil, err
	}
	switch {
	case r.inEnv:
		r.value = e.prefix + r.env.value + e.suffix
	case e.hasDefault:
		r.value = e.prefix + e.def + e.suffix
	default:
		return nil, fail(Variable, s.file, "image %q: %s is not set in %s: compose takes it from the environment it is run in, which hoist cannot change", r.raw, e.name, r.envPath)
	}
	return r, nil
}

// readEnv reads the variable's definition from the .env file, if there is one.
func (r *resolved) readEnv(path string) error {
	r.envPath = path
	data, fi, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	r.envData, r.envInfo = data, fi
	ent, ok := parseEnv(data)[r.e.name]
	r.env = ent
	// ${TAG:-x} takes the default when TAG is empty too.
	r.inEnv = ok && !(r.e.emptyDefault && ent.value == "")
	return nil
}
