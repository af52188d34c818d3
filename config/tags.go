package config

import (
	"path"
	"regexp"
)

// Tags configures update: tags, after Flux's image policies: tags matching exclude
// are dropped, the rest must match filter.pattern, filter.extract makes each match
// into a value, and the value that order and direction put first wins.
type Tags struct {
	Filter TagFilter `yaml:"filter" json:"filter"`
	// Order is numerical, alphabetical or semver.
	Order string `yaml:"order" json:"order"`
	// Direction is desc (the highest value wins: the newest build) or asc.
	Direction string `yaml:"direction" json:"direction"`
	// Exclude lists globs of tags never chosen; unset means DefaultTagExclude.
	Exclude []string `yaml:"exclude" json:"exclude"`
}

// TagFilter is a regular expression (RE2) and the template of the value compared.
type TagFilter struct {
	Pattern string `yaml:"pattern" json:"pattern,omitempty"`
	// Extract is a regexp.Expand template naming groups of Pattern ("$ts"; in the file
	// ${ts} is an environment variable); empty
	// compares whole tags.
	Extract string `yaml:"extract" json:"extract,omitempty"`
}

// DefaultTagExclude drops cosign's signature, attestation and SBOM tags.
var DefaultTagExclude = []string{"*.sig", "*.att", "*.sbom", "sha256-*"}

// extractRef is one group reference of an extract template: $name or ${name} ($$ is a
// literal dollar), as regexp.Expand reads them.
var extractRef = regexp.MustCompile(`\$(?:\$|\{(\w+)\}|(\w+))`)

func (t *Tags) applyDefaults(excludeSet bool) {
	if t.Direction == "" {
		t.Direction = "desc"
	}
	if !excludeSet {
		t.Exclude = append([]string{}, DefaultTagExclude...)
	}
}

func (t *Tags) validate(v *validator, at string) {
	re, err := regexp.Compile(t.Filter.Pattern)
	if err != nil {
		v.addf(at+".filter.pattern", "pattern %q does not compile: %v", t.Filter.Pattern, err)
	}
	if x := t.Filter.Extract; x != "" && re != nil {
		named := 0
		for _, m := range extractRef.FindAllStringSubmatch(x, -1) {
			ref := m[1] + m[2]
			if ref == "" {
				continue
			}
			named++
			if !hasGroup(re, ref) {
				v.addf(at+".filter.extract", "extract %q: pattern %q has no group %q; name one with (?P<%s>…)", x, t.Filter.Pattern, ref, ref)
			}
		}
		if named == 0 {
			v.addf(at+".filter.extract", "extract %q names no group; write $name for a group (?P<name>…) of the pattern (${name} would be read as an environment variable)", x)
		}
	}
	switch t.Order {
	case "numerical", "alphabetical", "semver":
	case "":
		v.addf(at+".order", "tags needs an order: numerical (build-9 before build-10), alphabetical or semver")
	default:
		v.addf(at+".order", "order %q: use numerical, alphabetical or semver", t.Order)
	}
	switch t.Direction {
	case "desc", "asc":
	default:
		v.addf(at+".direction", "direction %q: use desc (the highest value wins, the default) or asc", t.Direction)
	}
	for j, g := range t.Exclude {
		if _, err := path.Match(g, ""); err != nil {
			v.addf(pathf("%s.exclude[%d]", at, j), "bad glob %q: %v", g, err)
		}
	}
}

// hasGroup reports whether re has the group ref names: by name, or by number.
func hasGroup(re *regexp.Regexp, ref string) bool {
	if re.SubexpIndex(ref) >= 0 {
		return true
	}
	n := 0
	for _, c := range ref {
		if c < '0' || c > '9' || n > re.NumSubexp() {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= re.NumSubexp()
}
