package composefile

import (
	"bytes"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// site is the image value that decides a service's image: in the last file that sets
// it.
type site struct {
	file string // the file as compose named it
	real string // symlinks resolved
	data []byte
	fi   os.FileInfo
	node *yaml.Node
}

// locate finds the service's image value across the project's files.
func (p Project) locate() (*site, error) {
	var found *site
	pendingExtends := ""
	for _, f := range p.Files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			return nil, ioFail(f, "resolve", err)
		}
		data, fi, err := readBounded(real)
		if err != nil {
			return nil, err
		}
		svc, err := serviceNode(f, data, p.Service)
		if err != nil {
			return nil, err
		}
		if svc == nil {
			continue
		}
		img, extends, err := imageNode(f, svc)
		if err != nil {
			return nil, err
		}
		switch {
		case img != nil:
			found = &site{file: f, real: real, data: data, fi: fi, node: img}
			pendingExtends = ""
		case extends:
			pendingExtends = f
		}
	}
	if pendingExtends != "" {
		return nil, fail(Extends, pendingExtends, "service %s uses extends: its image may come from another file, which hoist does not guess", p.Service)
	}
	if found == nil {
		return nil, fail(NotFound, "", "no file of %v sets services.%s.image", p.Files, p.Service)
	}
	return found, nil
}

// serviceNode returns the mapping of services.<name> in a compose file, or nil.
func serviceNode(file string, data []byte, name string) (*yaml.Node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Reason: Unsupported, File: file, Detail: "parse YAML", Err: err}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	services := valueOf(doc.Content[0], "services")
	if services == nil {
		return nil, nil
	}
	if services.Kind != yaml.MappingNode {
		return nil, fail(Unsupported, file, "services is not a mapping")
	}
	svc := valueOf(services, name)
	if svc == nil {
		return nil, nil
	}
	if svc.Kind != yaml.MappingNode {
		return nil, fail(Unsupported, file, "services.%s is not a plain mapping (an alias?)", name)
	}
	return svc, nil
}

// imageNode returns the service's image value, and whether the service uses extends.
func imageNode(file string, svc *yaml.Node) (*yaml.Node, bool, error) {
	img := valueOf(svc, "image")
	extends := valueOf(svc, "extends") != nil
	if img == nil {
		if valueOf(svc, "<<") != nil {
			return nil, false, fail(Unsupported, file, "the service takes keys from a YAML merge key (<<) and sets no image of its own")
		}
		return nil, extends, nil
	}
	switch {
	case img.Kind == yaml.AliasNode:
		return nil, false, fail(Unsupported, file, "line %d: image is a YAML alias (*%s): changing it would change every use", img.Line, img.Value)
	case img.Anchor != "":
		return nil, false, fail(Unsupported, file, "line %d: image carries a YAML anchor (&%s): changing it would change every use", img.Line, img.Anchor)
	case img.Kind != yaml.ScalarNode:
		return nil, false, fail(Unsupported, file, "line %d: image is not a string", img.Line)
	case img.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return nil, false, fail(Unsupported, file, "line %d: image is a block scalar", img.Line)
	}
	return img, extends, nil
}

// valueOf returns the value of key in a mapping node, the last one if repeated.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	var v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			v = m.Content[i+1]
		}
	}
	return v
}
