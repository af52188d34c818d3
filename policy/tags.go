package policy

import (
	"fmt"
	"math/big"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Order says how a tags policy compares the values it extracted from tags.
type Order string

const (
	// Numerical compares values as numbers: build-9 before build-10.
	Numerical Order = "numerical"
	// Alphabetical compares values byte by byte: 2026.11.03 before 2026.11.04.
	Alphabetical Order = "alphabetical"
	// SemverOrder compares values as semantic versions: 1.9.0 before 1.10.0.
	SemverOrder Order = "semver"
)

// DefaultExclude drops the tags signing and attestation tools push next to images
// (cosign's sha256-<digest>.sig, .att and .sbom).
var DefaultExclude = []string{"*.sig", "*.att", "*.sbom", "sha256-*"}

// TagFilter picks a tag by filter and order, as Flux's ImagePolicy does: tags matching
// Exclude are dropped, the others must match Pattern, Extract (regexp.Expand syntax,
// "$ts") turns a match into the value compared, and the value ordered first by Order
// and Direction wins.
type TagFilter struct {
	Pattern *regexp.Regexp
	// Extract is the template of the compared value; empty means the whole tag.
	Extract string
	Order   Order
	// Ascending picks the lowest value; the default picks the highest (the newest).
	Ascending bool
	Exclude   []string
}

// NewTagFilter compiles a tags policy. An empty pattern matches every tag; extract must
// name at least one group of pattern, and only groups it has.
func NewTagFilter(pattern, extract string, order Order, ascending bool, exclude []string) (*TagFilter, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	if extract != "" {
		if err := CheckExtract(re, extract); err != nil {
			return nil, err
		}
	}
	switch order {
	case Numerical, Alphabetical, SemverOrder:
	default:
		return nil, fmt.Errorf("order %q: use numerical, alphabetical or semver", order)
	}
	for _, g := range exclude {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("exclude %q: %w", g, err)
		}
	}
	return &TagFilter{Pattern: re, Extract: extract, Order: order, Ascending: ascending, Exclude: exclude}, nil
}

// CheckExtract reports an extract template that names no group of re, or a group re
// does not have.
func CheckExtract(re *regexp.Regexp, extract string) error {
	refs := extractRefs(extract)
	if len(refs) == 0 {
		return fmt.Errorf("extract %q names no group of the pattern; write $name or ${name} for a group (?P<name>…)", extract)
	}
	for _, ref := range refs {
		if n, err := strconv.Atoi(ref); err == nil {
			if n > re.NumSubexp() {
				return fmt.Errorf("extract %q: the pattern has no group %d", extract, n)
			}
			continue
		}
		if re.SubexpIndex(ref) < 0 {
			return fmt.Errorf("extract %q: the pattern has no group named %q", extract, ref)
		}
	}
	return nil
}

// extractRef is one group reference of a regexp.Expand template, $name or ${name};
// $$ is a literal dollar.
var extractRef = regexp.MustCompile(`\$(?:\$|\{(\w+)\}|(\w+))`)

// extractRefs lists the groups a template refers to.
func extractRefs(t string) []string {
	var refs []string
	for _, m := range extractRef.FindAllStringSubmatch(t, -1) {
		if ref := m[1] + m[2]; ref != "" {
			refs = append(refs, ref)
		}
	}
	return refs
}

// Choice is what a tags policy made of a tag list, for hoist check to explain.
type Choice struct {
	Tag string
	// Listed, Excluded and Matched count the tags seen, dropped by exclude, and
	// matching the pattern with a value the order can compare.
	Listed, Excluded, Matched int
	// Kept is true when the current tag is already the best one.
	Kept   bool
	Reason string
}

type candidate struct {
	tag, value string
	num        *big.Rat
	ver        *semver.Version
}

// Pick chooses among tags. When current matches too and is not ordered after the best
// listed tag, it stays (a tag deleted from the registry does not move a workload back).
// ok is false when no tag qualifies.
func (f *TagFilter) Pick(current string, tags []string) (c Choice, ok bool) {
	c.Listed = len(tags)
	var best *candidate
	for _, t := range tags {
		if f.excluded(t) {
			c.Excluded++
			continue
		}
		cand, ok := f.candidate(t)
		if !ok {
			continue
		}
		c.Matched++
		if best == nil || f.before(cand, best) {
			best = cand
		}
	}
	if best == nil {
		c.Reason = fmt.Sprintf("none of %d tags matches %s%s", c.Listed, f.describe(), c.excludedNote())
		return c, false
	}
	c.Tag = best.tag
	if cur, ok := f.candidate(current); ok && !f.excluded(current) && !f.before(best, cur) {
		c.Tag, c.Kept = current, true
	}
	word := "newest"
	if f.Ascending {
		word = "lowest"
	}
	c.Reason = fmt.Sprintf("%s of %d tags matching %s: %s%s", word, c.Matched, f.describe(), c.Tag, c.excludedNote())
	if c.Kept {
		c.Reason += " (the current tag)"
	}
	return c, true
}

func (c Choice) excludedNote() string {
	if c.Excluded == 0 {
		return ""
	}
	return fmt.Sprintf("; %d excluded", c.Excluded)
}

// describe says what the filter sorts by: "^main-… by ts (numerical, desc)".
func (f *TagFilter) describe() string {
	p := f.Pattern.String()
	if p == "" {
		p = "any"
	} else if r := []rune(p); len(r) > 24 {
		p = string(r[:20]) + "…"
	}
	by := "tag"
	if refs := extractRefs(f.Extract); len(refs) == 1 && strings.Trim(f.Extract, "${}") == refs[0] {
		by = refs[0]
	} else if f.Extract != "" {
		by = f.Extract
	}
	dir := "desc"
	if f.Ascending {
		dir = "asc"
	}
	return fmt.Sprintf("%s by %s (%s, %s)", p, by, f.Order, dir)
}

func (f *TagFilter) excluded(tag string) bool {
	for _, g := range f.Exclude {
		if ok, _ := path.Match(g, tag); ok {
			return true
		}
	}
	return false
}

// candidate extracts tag's value; ok is false when tag does not match or its value
// is not something the order compares.
func (f *TagFilter) candidate(tag string) (*candidate, bool) {
	m := f.Pattern.FindStringSubmatchIndex(tag)
	if m == nil {
		return nil, false
	}
	c := &candidate{tag: tag, value: tag}
	if f.Extract != "" {
		c.value = string(f.Pattern.ExpandString(nil, f.Extract, tag, m))
	}
	switch f.Order {
	case Numerical:
		// Exact: a nanosecond timestamp has more digits than a float64 keeps.
		n, ok := new(big.Rat).SetString(c.value)
		if !ok || strings.ContainsAny(c.value, "/eE") {
			return nil, false
		}
		c.num = n
	case SemverOrder:
		v, err := semver.NewVersion(c.value)
		if err != nil {
			return nil, false
		}
		c.ver = v
	}
	return c, true
}

// before reports whether a wins over b. Equal values keep the first seen.
func (f *TagFilter) before(a, b *candidate) bool {
	var n int
	switch f.Order {
	case Numerical:
		n = a.num.Cmp(b.num)
	case SemverOrder:
		n = a.ver.Compare(b.ver)
	default:
		n = strings.Compare(a.value, b.value)
	}
	if f.Ascending {
		return n < 0
	}
	return n > 0
}

// ListsTags reports whether the rule moves between tags (semver and tags rules), so
// that it reads the repository's tag list rather than following one tag.
func (r *Rule) ListsTags() bool { return r.Update == Semver || r.Update == Tags }

// Choose picks the tag a semver or tags rule moves to from current. why explains a
// tags rule's choice (what it considered, and why the tag won); it is empty for
// semver. ok is false when no tag qualifies.
func (r *Rule) Choose(current string, tags []string) (tag, why string, ok bool) {
	switch {
	case r.Update == Semver:
		tag, ok = r.Newest(current, tags)
		return tag, "", ok
	case r.Update == Tags && r.Tags != nil:
		c, ok := r.Tags.Pick(current, tags)
		return c.Tag, c.Reason, ok
	}
	return "", "", false
}
