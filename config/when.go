package config

import (
	"fmt"
	"strings"
	"time"
)

// When limits when a policy's rollouts start.
type When struct {
	// Windows are the times rollouts may start; none means any time.
	Windows []Window `yaml:"windows" json:"windows,omitempty"`
	// Timezone is the IANA zone the windows are read in (default UTC).
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`
	// MinAge is how long hoist must have known a digest before rolling it out.
	MinAge Duration `yaml:"min_age" json:"min_age"`
	// Approve holds each new digest until an operator runs hoist approve (or the API).
	Approve bool `yaml:"approve" json:"approve,omitempty"`
	// After makes the policy a later stage of another one (after.go).
	After *After `yaml:"after" json:"after,omitempty"`
}

// Window is a daily time range, on some days of the week. A window whose to is not
// after its from runs past midnight.
type Window struct {
	Days []Weekday `yaml:"days" json:"days,omitempty"` // default: every day
	From Clock     `yaml:"from" json:"from"`
	To   Clock     `yaml:"to" json:"to"`
}

// Clock is a time of day written HH:MM or HH:MM:SS (24-hour); it holds seconds since
// midnight.
type Clock int

// UnmarshalYAML reads "HH:MM" or "HH:MM:SS".
func (c *Clock) UnmarshalYAML(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	bad := fmt.Errorf("time %q: write HH:MM, 24-hour, like 02:30", s)
	var h, m, sec int
	switch {
	case len(s) == 5 && s[2] == ':':
		if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil {
			return bad
		}
	case len(s) == 8 && s[2] == ':' && s[5] == ':':
		if _, err := fmt.Sscanf(s, "%02d:%02d:%02d", &h, &m, &sec); err != nil {
			return bad
		}
	default:
		return bad
	}
	if h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 {
		return bad
	}
	*c = Clock(h*3600 + m*60 + sec)
	return nil
}

// Hour, Minute and Second split the clock.
func (c Clock) Hour() int   { return int(c) / 3600 }
func (c Clock) Minute() int { return int(c) / 60 % 60 }
func (c Clock) Second() int { return int(c) % 60 }

func (c Clock) String() string {
	if c.Second() != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", c.Hour(), c.Minute(), c.Second())
	}
	return fmt.Sprintf("%02d:%02d", c.Hour(), c.Minute())
}

// MarshalJSON writes "HH:MM".
func (c Clock) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// Weekday is a day of the week written mon … sun (or in full: monday).
type Weekday time.Weekday

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// UnmarshalYAML reads a day name.
func (d *Weekday) UnmarshalYAML(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	k := strings.ToLower(s)
	if len(k) >= 3 {
		if wd, ok := dayNames[k[:3]]; ok && (len(k) == 3 || strings.EqualFold(s, wd.String())) {
			*d = Weekday(wd)
			return nil
		}
	}
	return fmt.Errorf("day %q: write mon, tue, wed, thu, fri, sat or sun", s)
}

// MarshalJSON writes the short name.
func (d Weekday) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strings.ToLower(time.Weekday(d).String()[:3]) + `"`), nil
}

func (w *When) validate(v *validator, at string) {
	if w.Timezone != "" {
		if _, err := time.LoadLocation(w.Timezone); err != nil {
			v.addf(at+".timezone", "timezone %q is not a known IANA zone; write one like Europe/Berlin or America/New_York (default UTC)", w.Timezone)
		}
	}
	for i, win := range w.Windows {
		if win.From == win.To {
			v.addf(pathf("%s.windows[%d].to", at, i), "window from %s to %s is empty; for all day, leave windows out", win.From, win.To)
		}
	}
}
