package composefile

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Change says what Update did.
type Change struct {
	// File is the file written (the compose file, or the .env file), empty when nothing
	// needed writing.
	File string
	// Backup holds File's previous content.
	Backup string
	// Var is the variable set in the .env file, when the image value uses one.
	Var string
	// From and To are what changed, as written: an image value, or a variable's value.
	From, To string
}

func (c Change) String() string {
	switch {
	case c.File == "":
		return "compose file already names " + c.To
	case c.Var != "":
		return fmt.Sprintf("%s: %s=%s (was %s; previous file kept as %s)", c.File, c.Var, c.To, c.From, filepath.Base(c.Backup))
	}
	return fmt.Sprintf("%s: image %s (was %s; previous file kept as %s)", c.File, c.To, c.From, filepath.Base(c.Backup))
}

// Update makes the project name newImage's tag where it names oldImage's, so that
// `compose up` keeps the image hoist rolled out. oldImage is the image the container
// ran (as compose created it, or as hoist last did); newImage the one rolled out.
// alsoMoved names the project's other services moved to newImage by the same rollout:
// a .env variable they share with this one may change. It writes one file, or returns
// an [Error] saying why it did not.
func Update(p Project, oldImage, newImage string, alsoMoved ...string) (Change, error) {
	r, err := p.resolve()
	if err != nil {
		return Change{}, err
	}
	cur, old, nu, err := r.refs(oldImage, newImage)
	if err != nil {
		return Change{}, err
	}
	if cur.sameTag(nu) && (cur.digest == "" || cur.digest == nu.digest) {
		return Change{To: r.value}, nil
	}
	if !cur.sameTag(old) {
		return Change{}, fail(Mismatch, r.file, "image %q gives %s, not %s which the container ran: compose was run with other files or variables; left as it is", r.raw, r.value, oldImage)
	}
	target := withTag(r.value, nu.tag, nu.digest)
	if r.e == nil {
		return r.writeImage(p, strings.ReplaceAll(target, "$", "$$"))
	}
	e := r.e
	mid, ok := strings.CutPrefix(target, e.prefix)
	if ok {
		mid, ok = strings.CutSuffix(mid, e.suffix)
	}
	if !ok || mid == "" || strings.ContainsAny(mid, "$}") {
		return Change{}, fail(Variable, r.file, "image %q: the new image %s is not %s with another value of %s; left as it is", r.raw, target, r.raw, e.name)
	}
	if r.inEnv {
		moved := map[string]bool{p.Service: true}
		for _, s := range alsoMoved {
			moved[s] = true
		}
		where, err := p.sharedUse(e.name, moved)
		if err != nil {
			return Change{}, err
		}
		if where != "" {
			return Change{}, fail(Variable, r.envPath, "%s is also used by %s, which this rollout did not move: changing it would change that too; left as it is", e.name, where)
		}
		return r.writeEnv(p, mid)
	}
	// ${TAG:-1.4} with TAG set nowhere: the default is the value, in the compose file.
	raw := r.raw[:e.defStart] + mid + r.raw[e.defStart+len(e.def):]
	return r.writeImage(p, raw)
}

// refs parses the value compose would use, the old image and the new one.
func (r *resolved) refs(oldImage, newImage string) (cur, old, nu imageRef, err error) {
	if cur, err = parseRef(r.value); err != nil {
		return cur, old, nu, &Error{Reason: Unsupported, File: r.file, Detail: fmt.Sprintf("image %q", r.value), Err: err}
	}
	if old, err = parseRef(oldImage); err != nil {
		return cur, old, nu, &Error{Reason: Mismatch, Detail: fmt.Sprintf("old image %q", oldImage), Err: err}
	}
	if nu, err = parseRef(newImage); err != nil {
		return cur, old, nu, &Error{Reason: Mismatch, Detail: fmt.Sprintf("new image %q", newImage), Err: err}
	}
	return cur, old, nu, nil
}

// writeImage rewrites the image scalar of the compose file to raw.
func (r *resolved) writeImage(p Project, raw string) (Change, error) {
	real, err := p.inside(r.file)
	if err != nil {
		return Change{}, err
	}
	if !fitsStyle(r.node, raw) {
		return Change{}, fail(Unsupported, r.file, "line %d: %q cannot be written in the value's quoting style", r.node.Line, raw)
	}
	start, end, err := scalarSpan(r.file, r.data, r.node)
	if err != nil {
		return Change{}, err
	}
	data := splice(r.data, start, end, raw)
	svc, err := serviceNode(r.file, data, p.Service)
	if err == nil && svc != nil {
		if img, _, ierr := imageNode(r.file, svc); ierr == nil && img != nil && img.Value == raw {
			if err := replaceFile(real, r.data, data, r.fi); err != nil {
				return Change{}, err
			}
			return Change{File: r.file, Backup: real + BackupSuffix, From: r.raw, To: raw}, nil
		}
	}
	return Change{}, fail(Unsupported, r.file, "line %d: the edited file does not read back as image %q; left as it is", r.node.Line, raw)
}

// writeEnv sets the variable to v in the .env file.
func (r *resolved) writeEnv(p Project, v string) (Change, error) {
	real, err := p.inside(r.envPath)
	if err != nil {
		return Change{}, err
	}
	if r.env.quote == 0 && strings.ContainsAny(v, " \t#'\"") || r.env.quote != 0 && strings.IndexByte(v, r.env.quote) >= 0 {
		return Change{}, fail(Unsupported, r.envPath, "%s=%q cannot be written in the value's quoting style", r.e.name, v)
	}
	data := splice(r.envData, r.env.start, r.env.end, v)
	if got := parseEnv(data)[r.e.name]; got.value != v {
		return Change{}, fail(Unsupported, r.envPath, "the edited file does not read back as %s=%s; left as it is", r.e.name, v)
	}
	if err := replaceFile(real, r.envData, data, r.envInfo); err != nil {
		return Change{}, err
	}
	return Change{File: r.envPath, Backup: real + BackupSuffix, Var: r.e.name, From: r.env.value, To: v}, nil
}
