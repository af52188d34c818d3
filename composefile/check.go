package composefile

import "fmt"

// Drift says that the project names another image than the one running: `compose up`
// would recreate the service on it.
type Drift struct {
	// File is the compose file whose image value decides.
	File string
	// Names is the image compose resolves the value to; Running the one running.
	Names, Running string
	names, running imageRef
}

func (d Drift) String() string {
	if d.names.name == d.running.name && d.names.tag != d.running.tag {
		return fmt.Sprintf("compose file %s still names :%s; `docker compose up` would downgrade to it (running :%s)", d.File, d.names.tag, d.running.tag)
	}
	return fmt.Sprintf("compose file %s still names %s; `docker compose up` would replace the running %s with it", d.File, d.Names, d.Running)
}

// Check compares the image the project names for the service with running, the image
// the container runs. It returns nil when they agree (same repository and tag, and
// same digest when both are pinned), or the drift.
func Check(p Project, running string) (*Drift, error) {
	r, err := p.resolve()
	if err != nil {
		return nil, err
	}
	cur, err := parseRef(r.value)
	if err != nil {
		return nil, &Error{Reason: Unsupported, File: r.file, Detail: fmt.Sprintf("image %q", r.value), Err: err}
	}
	run, err := parseRef(running)
	if err != nil {
		return nil, &Error{Reason: Mismatch, Detail: fmt.Sprintf("running image %q", running), Err: err}
	}
	if cur.sameTag(run) && (cur.digest == "" || run.digest == "" || cur.digest == run.digest) {
		return nil, nil
	}
	return &Drift{File: r.file, Names: r.value, Running: running, names: cur, running: run}, nil
}
