package policy

import (
	"fmt"
	"testing"
	"time"
)

func mustClock(t *testing.T, s string) Clock {
	t.Helper()
	var c Clock
	if _, err := fmt.Sscanf(s, "%d:%d", &c.Hour, &c.Minute); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWhenWindows(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	weekdays := [7]bool{}
	for d := time.Monday; d <= time.Friday; d++ {
		weekdays[d] = true
	}
	nights := When{Location: berlin, Windows: []Window{{Days: weekdays, From: mustClock(t, "22:00"), To: mustClock(t, "02:00")}}}
	mornings := When{Windows: []Window{{From: mustClock(t, "06:00"), To: mustClock(t, "07:30")}}}
	at := func(s string, loc *time.Location) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// 2026-11-23 is a Monday.
	for _, tc := range []struct {
		name     string
		w        When
		now      time.Time
		open     bool
		nextOpen time.Time
	}{
		{"no window: always", When{}, at("2026-11-23 12:00", time.UTC), true, at("2026-11-23 12:00", time.UTC)},
		{"inside, UTC", mornings, at("2026-11-23 06:00", time.UTC), true, at("2026-11-23 06:00", time.UTC)},
		{"closes at To", mornings, at("2026-11-23 07:30", time.UTC), false, at("2026-11-24 06:00", time.UTC)},
		{"before today's", mornings, at("2026-11-23 05:59", time.UTC), false, at("2026-11-23 06:00", time.UTC)},
		{"read in the window's zone", nights, at("2026-11-23 21:30", time.UTC), true, at("2026-11-23 21:30", time.UTC)},
		{"Monday evening, before", nights, at("2026-11-23 21:59", berlin), false, at("2026-11-23 22:00", berlin)},
		{"past midnight, opened Friday", nights, at("2026-11-28 01:00", berlin), true, at("2026-11-28 01:00", berlin)},
		{"Saturday night: next is Monday", nights, at("2026-11-28 22:30", berlin), false, at("2026-11-30 22:00", berlin)},
		{"Monday 01:00: Sunday opened none", nights, at("2026-11-30 01:00", berlin), false, at("2026-11-30 22:00", berlin)},
	} {
		if got := tc.w.Open(tc.now); got != tc.open {
			t.Errorf("%s: Open(%s) = %v, want %v", tc.name, tc.now, got, tc.open)
		}
		if got := tc.w.NextOpen(tc.now); !got.Equal(tc.nextOpen) {
			t.Errorf("%s: NextOpen(%s) = %s, want %s", tc.name, tc.now, got, tc.nextOpen)
		}
	}
}

func TestWhenEarliest(t *testing.T) {
	seen := time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)
	w := When{MinAge: 2 * time.Hour, Windows: []Window{{From: mustClock(t, "06:00"), To: mustClock(t, "07:30")}}}
	if got, want := w.Earliest(seen, seen), seen.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("ripe inside the window: %s, want %s", got, want)
	}
	if got, want := w.Earliest(seen.Add(-2*time.Hour), seen.Add(2*time.Hour+45*time.Minute)), time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("ripe, window closed: %s, want %s", got, want)
	}
	if got := (When{MinAge: time.Hour}).Earliest(seen, seen.Add(3*time.Hour)); !got.Equal(seen.Add(3 * time.Hour)) {
		t.Errorf("ripe long ago: %s, want now", got)
	}
}
