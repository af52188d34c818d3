package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cronToHoist maps a Watchtower schedule (6-field cron with seconds, or a descriptor
// such as @daily or @every 2h) to the nearest hoist setting: a poll interval, and for
// schedules that fire at set times of day, when windows (YAML flow mappings) in which
// rollouts start. why says what was approximated or could not be mapped ("" when the
// mapping is exact enough to need no word).
func cronToHoist(expr string) (every time.Duration, windows []string, why string) {
	expr = strings.TrimSpace(expr)
	switch expr {
	case "@hourly":
		return time.Hour, nil, ""
	case "@daily", "@midnight":
		return time.Hour, []string{window(nil, 0, 0)}, "checked hourly, rolled out from midnight for an hour"
	case "@weekly":
		return time.Hour, []string{window([]string{"sun"}, 0, 0)}, "checked hourly, rolled out on Sundays from midnight for an hour"
	case "@monthly", "@yearly", "@annually":
		return 24 * time.Hour, nil, "hoist has no monthly windows: checked daily instead"
	}
	if d, ok := strings.CutPrefix(expr, "@every "); ok {
		if every, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && every >= MinPollInterval {
			return every, nil, ""
		}
		return 24 * time.Hour, nil, "could not read the duration; checked daily instead"
	}
	f := strings.Fields(expr)
	if len(f) == 5 {
		f = append([]string{"0"}, f...)
	}
	if len(f) != 6 {
		return 24 * time.Hour, nil, "not a 6-field cron expression; checked daily instead"
	}
	sec, minute, hour, dom, month, dow := f[0], f[1], f[2], f[3], f[4], f[5]
	var notes []string
	if !wild(dom) || !wild(month) {
		notes = append(notes, "days of the month and months are not mapped (hoist's windows are weekly)")
	}
	if n, ok := step(sec); ok && wild(minute) && wild(hour) {
		return time.Duration(n) * time.Second, nil, strings.Join(notes, "; ")
	}
	if n, ok := step(minute); ok && wild(hour) {
		return time.Duration(n) * time.Minute, nil, strings.Join(notes, "; ")
	}
	m, err := strconv.Atoi(minute)
	if err != nil || m < 0 || m > 59 {
		return 24 * time.Hour, nil, strings.Join(append(notes, "minute field "+strconv.Quote(minute)+" not mapped; checked daily instead"), "; ")
	}
	if n, ok := step(hour); ok {
		return time.Duration(n) * time.Hour, nil, strings.Join(notes, "; ")
	}
	days, ok := weekdays(dow)
	if !ok {
		notes = append(notes, "day-of-week field "+strconv.Quote(dow)+" not mapped: every day")
	}
	for _, part := range strings.Split(hour, ",") {
		from, to, ok := hourRange(part)
		if !ok {
			return 24 * time.Hour, nil, strings.Join(append(notes, "hour field "+strconv.Quote(hour)+" not mapped; checked daily instead"), "; ")
		}
		w := window(days, from, m)
		if to != from {
			w = windowTo(days, from, m, (to+1)%24, m)
		}
		windows = append(windows, w)
	}
	notes = append([]string{"checked hourly, rolled out in the hour after each time the schedule named"}, notes...)
	return time.Hour, windows, strings.Join(notes, "; ")
}

// wild reports whether a field matches every value.
func wild(f string) bool { return f == "*" || f == "?" }

// step reads "*" (1) and "*/n".
func step(f string) (int, bool) {
	if f == "*" {
		return 1, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(f, "*/"))
	if !strings.HasPrefix(f, "*/") || err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// hourRange reads "h" or "a-b".
func hourRange(f string) (from, to int, ok bool) {
	a, b, isRange := strings.Cut(f, "-")
	from, err1 := strconv.Atoi(a)
	to, err2 := from, error(nil)
	if isRange {
		to, err2 = strconv.Atoi(b)
	}
	if err1 != nil || err2 != nil || from < 0 || to > 23 || to < from {
		return 0, 0, false
	}
	return from, to, true
}

var cronDays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// weekdays reads a day-of-week field (0-6 or SUN-SAT, lists and ranges); nil is every day.
func weekdays(f string) ([]string, bool) {
	if wild(f) {
		return nil, true
	}
	day := func(s string) (int, bool) {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 7 {
			return n % 7, true
		}
		for i, d := range cronDays {
			if strings.EqualFold(s, d) {
				return i, true
			}
		}
		return 0, false
	}
	var out []string
	for _, part := range strings.Split(f, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, ok1 := day(a)
		to, ok2 := from, true
		if isRange {
			to, ok2 = day(b)
		}
		if !ok1 || !ok2 || to < from {
			return nil, false
		}
		for d := from; d <= to; d++ {
			out = append(out, cronDays[d])
		}
	}
	return out, true
}

func window(days []string, h, m int) string { return windowTo(days, h, m, (h+1)%24, m) }

func windowTo(days []string, h, m, h2, m2 int) string {
	s := fmt.Sprintf(`{ from: "%02d:%02d", to: "%02d:%02d" }`, h, m, h2, m2)
	if len(days) > 0 {
		s = fmt.Sprintf(`{ days: [%s], from: "%02d:%02d", to: "%02d:%02d" }`, strings.Join(days, ", "), h, m, h2, m2)
	}
	return s
}
