package policy

import (
	"fmt"
	"strings"
	"time"
)

// When says when a rule may start a rollout: inside one of its windows, and only for a
// digest hoist has known for at least MinAge (a cooldown: a bad push is often replaced
// within minutes, and a compromised one is often found within hours).
type When struct {
	Windows []Window
	// Location is the time zone the windows are read in (UTC when nil).
	Location *time.Location
	MinAge   time.Duration
	// Approve holds every new digest until an operator approves it for the workload.
	// With After, approval is offered only once the soak passed.
	Approve bool
	// After, when set, makes the policy a later stage of another (policy/after.go).
	After *After
}

// Window is a daily time range on some days of the week. A window whose To is not after
// its From runs past midnight and belongs to the day it opens on.
type Window struct {
	// Days by time.Weekday; none set means every day.
	Days     [7]bool
	From, To Clock
}

// Clock is a time of day, 24-hour.
type Clock struct{ Hour, Minute, Second int }

func (c Clock) String() string {
	if c.Second != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", c.Hour, c.Minute, c.Second)
	}
	return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute)
}

func (c Clock) seconds() int { return (c.Hour*60+c.Minute)*60 + c.Second }

// on returns the instant clock c on the calendar day of t, in t's location.
func on(t time.Time, c Clock) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, c.Hour, c.Minute, c.Second, 0, t.Location())
}

// span returns when the window opens and closes for the calendar day of t.
func (w Window) span(day time.Time) (open, close time.Time) {
	open = on(day, w.From)
	close = on(day, w.To)
	if w.To.seconds() <= w.From.seconds() {
		close = on(day.AddDate(0, 0, 1), w.To)
	}
	return open, close
}

func (w Window) onDay(d time.Weekday) bool {
	for _, set := range w.Days {
		if set {
			return w.Days[d]
		}
	}
	return true
}

// Open reports whether t falls inside a window (always, when there is none).
func (w When) Open(t time.Time) bool {
	if len(w.Windows) == 0 {
		return true
	}
	t = t.In(w.loc())
	for _, win := range w.Windows {
		// A window that crosses midnight may have opened yesterday.
		for _, day := range []time.Time{t.AddDate(0, 0, -1), t} {
			if !win.onDay(day.Weekday()) {
				continue
			}
			open, close := win.span(day)
			if !t.Before(open) && t.Before(close) {
				return true
			}
		}
	}
	return false
}

// NextOpen returns the first instant at or after t inside a window: t itself when a
// window is open then (or there is none).
func (w When) NextOpen(t time.Time) time.Time {
	if w.Open(t) {
		return t
	}
	t = t.In(w.loc())
	var best time.Time
	for _, win := range w.Windows {
		for i := 0; i <= 7; i++ {
			day := t.AddDate(0, 0, i)
			if !win.onDay(day.Weekday()) {
				continue
			}
			if open, _ := win.span(day); open.After(t) {
				if best.IsZero() || open.Before(best) {
					best = open
				}
				break
			}
		}
	}
	return best
}

// Earliest returns when a digest first seen at seen may roll out, asked at now: once
// MinAge has passed and a window is open.
func (w When) Earliest(seen, now time.Time) time.Time {
	at := now
	if ripe := seen.Add(w.MinAge); ripe.After(at) {
		at = ripe
	}
	return w.NextOpen(at)
}

func (w When) loc() *time.Location {
	if w.Location == nil {
		return time.UTC
	}
	return w.Location
}

// String describes the windows: "mon-fri 02:00-05:00 Europe/Berlin".
func (w When) String() string {
	if len(w.Windows) == 0 {
		return "any time"
	}
	parts := make([]string, len(w.Windows))
	for i, win := range w.Windows {
		var days []string
		for d, set := range win.Days {
			if set {
				days = append(days, strings.ToLower(time.Weekday(d).String()[:3]))
			}
		}
		s := win.From.String() + "-" + win.To.String()
		if len(days) > 0 && len(days) < 7 {
			s = strings.Join(days, ",") + " " + s
		}
		parts[i] = s
	}
	return strings.Join(parts, "; ") + " " + w.loc().String()
}
