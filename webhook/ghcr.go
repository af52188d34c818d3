package webhook

import (
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/registry"
)

// GitHub sends `package` (repository and organisation hooks) or the older
// `registry_package` (apps) event, signed with X-Hub-Signature-256. A multi-arch
// push fires once per manifest; the children carry an empty tag and are dropped.
// Other events (ping, push, ...) have neither key and are ignored.
type ghcrPayload struct {
	Action          string       `json:"action"`
	Package         *ghcrPackage `json:"package"`
	RegistryPackage *ghcrPackage `json:"registry_package"`
}

type ghcrPackage struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	PackageType string `json:"package_type"`
	Ecosystem   string `json:"ecosystem"`
	Owner       struct {
		Login string `json:"login"`
	} `json:"owner"`
	PackageVersion *struct {
		ContainerMetadata *struct {
			Tag struct {
				Name string `json:"name"`
			} `json:"tag"`
		} `json:"container_metadata"`
	} `json:"package_version"`
}

// parseGHCR reads a GitHub package or registry_package event.
func parseGHCR(body []byte) ([]registry.PushEvent, error) {
	var p ghcrPayload
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	pkg := p.Package
	if pkg == nil {
		pkg = p.RegistryPackage
	}
	if pkg == nil || (p.Action != "published" && p.Action != "updated") || !isContainer(pkg) {
		return nil, nil
	}
	if pkg.PackageVersion == nil || pkg.PackageVersion.ContainerMetadata == nil {
		return nil, nil
	}
	tag := pkg.PackageVersion.ContainerMetadata.Tag.Name
	if tag == "" {
		return nil, nil
	}
	owner := pkg.Owner.Login
	if owner == "" {
		owner = pkg.Namespace
	}
	if owner == "" || pkg.Name == "" {
		return nil, fmt.Errorf("%w: package has no owner or name", errBadName)
	}
	ev, err := newEvent("ghcr.io", strings.ToLower(owner+"/"+pkg.Name), tag, "")
	if err != nil {
		return nil, err
	}
	return []registry.PushEvent{ev}, nil
}

// isContainer accepts package_type or ecosystem CONTAINER (or the older docker),
// in any case: parsers in the wild disagree on which field GitHub fills.
func isContainer(p *ghcrPackage) bool {
	for _, t := range []string{p.PackageType, p.Ecosystem} {
		if strings.EqualFold(t, "container") || strings.EqualFold(t, "docker") {
			return true
		}
	}
	return false
}
