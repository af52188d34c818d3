package composefile

import (
	"path/filepath"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// sharedUse returns where, outside the services in moved, the project's files use the
// variable name: changing it in .env would change that too. "" when nowhere.
func (p Project) sharedUse(name string, moved map[string]bool) (string, error) {
	ref := regexp.MustCompile(`(^|[^$])\$(\{` + name + `([:?}-]|$)|` + name + `([^A-Za-z0-9_]|$))`)
	for _, f := range p.Files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			return "", ioFail(f, "resolve", err)
		}
		data, _, err := readBounded(real)
		if err != nil {
			return "", err
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		for i := 0; i+1 < len(top.Content); i += 2 {
			key, val := top.Content[i], top.Content[i+1]
			if key.Value != "services" || val.Kind != yaml.MappingNode {
				if uses(val, ref) {
					return f + ": " + key.Value, nil
				}
				continue
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				if svc := val.Content[j].Value; !moved[svc] && uses(val.Content[j+1], ref) {
					return f + ": service " + svc, nil
				}
			}
		}
	}
	return "", nil
}

// uses reports whether a scalar under n (keys included) matches ref.
func uses(n *yaml.Node, ref *regexp.Regexp) bool {
	if n.Kind == yaml.ScalarNode {
		return ref.MatchString(n.Value)
	}
	for _, c := range n.Content {
		if uses(c, ref) {
			return true
		}
	}
	return false
}
