package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// History says how much rollout history the store keeps.
type History struct {
	// Keep is a number of records per workload (1000) or an age (90d, 2160h).
	Keep Keep `yaml:"keep" json:"keep"`
}

// Keep bounds the rollout history: the newest Count records of each workload, or the
// records that ended less than Age ago. Exactly one is set. A record of a rollout still
// running, or one a quarantine refers to, is kept whatever Keep says.
type Keep struct {
	Count int
	Age   Duration
}

// History defaults and bounds.
const (
	// DefaultHistoryKeep is how many records per workload are kept when keep is not set:
	// years of history for a workload updated daily, a few MB for a hundred workloads.
	DefaultHistoryKeep = 1000
	// MinHistoryAge is the shortest age keep accepts; shorter would drop records about
	// as soon as they are written.
	MinHistoryAge = time.Hour
)

const keepHint = "write a number of records per workload such as 1000, or an age such as 90d or 2160h"

// UnmarshalYAML reads a whole number (records per workload), or an age written as
// whole days (90d) or a Go duration (2160h).
func (k *Keep) UnmarshalYAML(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	if n, err := strconv.Atoi(s); err == nil {
		switch {
		case n < 0:
			return fmt.Errorf("keep %d is negative; %s", n, keepHint)
		case n == 0:
			return fmt.Errorf("keep 0 would drop every record; %s", keepHint)
		}
		*k = Keep{Count: n}
		return nil
	}
	age, err := parseAge(s)
	if err != nil {
		return err
	}
	if age < MinHistoryAge {
		return fmt.Errorf("keep %s is shorter than an hour: records would go about as soon as they are written; %s", s, keepHint)
	}
	*k = Keep{Age: Duration(age)}
	return nil
}

// parseAge reads "90d" or a Go duration such as "2160h".
func parseAge(s string) (time.Duration, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("keep %s is negative; %s", s, keepHint)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("keep %q: %s", s, keepHint)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("keep %q: %s", s, keepHint)
	}
	return d, nil
}

// String writes the count, or the age in days when it is whole days.
func (k Keep) String() string {
	age := k.Age.D()
	switch {
	case k.Count > 0:
		return strconv.Itoa(k.Count)
	case age > 0 && age%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", age/(24*time.Hour))
	case age > 0:
		return age.String()
	}
	return ""
}

// MarshalYAML writes the value as the file would.
func (k Keep) MarshalYAML() (any, error) {
	if k.Count > 0 {
		return k.Count, nil
	}
	return k.String(), nil
}

// MarshalJSON writes a count as a number and an age as a string.
func (k Keep) MarshalJSON() ([]byte, error) {
	if k.Count > 0 {
		return []byte(strconv.Itoa(k.Count)), nil
	}
	return []byte(strconv.Quote(k.String())), nil
}
